import AgentCore
import ControllerAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PeerHarness

/// An agent runtime in a temporary state directory with a token, for route tests.
struct TestAgent {
    let directory: TemporaryDirectory
    let runtime: AgentRuntime
    let token: String

    init(logger: Logger = Logger(label: "test"), configure: (inout AgentConfiguration) -> Void = { _ in }) async throws {
        directory = try TemporaryDirectory()
        var configuration = AgentConfiguration()
        configuration.stateDirectory = directory.file("state")
        configuration.api.listen = "127.0.0.1:0"
        configuration.boot.listen = "127.0.0.1:0"
        configuration.console.listen = "127.0.0.1:0"
        configure(&configuration)
        try StateDirectory.prepare(configuration.stateDirectory)
        token = try AgentIdentity.ensureToken(at: configuration.tokenFilePath).token
        runtime = try await AgentRuntime(configuration: configuration, logger: logger)
    }

    var authorization: HTTPFields { [.authorization: "Bearer \(token)"] }

    func controllerRouter() throws -> Router<AgentRequestContext> {
        try AgentServer.controllerRouter(runtime: runtime, tokenFile: runtime.configuration.tokenFilePath)
    }

    /// Runs `body` against the controller router in memory (no sockets).
    func withRouter<Value>(
        extraRoutes: (Router<AgentRequestContext>) -> Void = { _ in }, _ body: @Sendable (any TestClientProtocol) async throws -> Value
    ) async throws -> Value {
        let router = try controllerRouter()
        extraRoutes(router)
        return try await Application(router: router).test(.router, body)
    }

    func remove() { directory.remove() }
}

extension TestResponse {
    /// The decoded envelope.
    var envelope: JSONValue {
        (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(body.readableBytesView))) ?? .null
    }

    var text: String { String(buffer: body) }
}
