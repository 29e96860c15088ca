import AgentCore
import ControllerAPI
import Foundation
import Hummingbird
import PeerHarness
import Testing
import Yams

/// openapi.yaml must describe exactly the routes the three listeners serve.
@Suite struct OpenAPISpecTests {
    static var specPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("openapi.yaml").path
    }

    static func specRoutes() throws -> Set<String> {
        let text = try String(contentsOfFile: specPath, encoding: .utf8)
        guard let document = try Yams.load(yaml: text) as? [String: Any], let paths = document["paths"] as? [String: Any] else {
            throw AgentError.internalError("openapi.yaml has no paths")
        }
        var routes: Set<String> = []
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head"]
        for (path, item) in paths {
            guard let operations = item as? [String: Any] else { continue }
            for method in operations.keys where methods.contains(method) {
                routes.insert("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }

    @Test func specMatchesTheRouters() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let controller = try agent.controllerRouter().routes.map { "\($0.method) \($0.path)" }
        let boot = AgentServer.bootRouter(runtime: agent.runtime).routes.map { "\($0.method) \($0.path)" }
        // The console listener's routes, but for noVNC's module tree (`/console/static/novnc/**`, a file tree).
        let console = AgentServer.consoleRouter(runtime: agent.runtime).routes.map { "\($0.method) \($0.path)" }.filter { !$0.hasSuffix("/**") }
        let served = Set(controller + boot + console)
        let documented = try Self.specRoutes()
        #expect(served.subtracting(documented).sorted() == [], "routes missing from openapi.yaml")
        #expect(documented.subtracting(served).sorted() == [], "openapi.yaml documents routes nobody serves")
    }
}

@Suite struct OpenAPIDocumentTests {
    /// The spec itself is valid OpenAPI 3 (openapi-spec-validator from PyPI).
    @Test func specIsValidOpenAPI() async throws {
        let validator = try PeerTools.venvProgram("openapi-spec-validator")
        let (status, output) = try await PeerTools.run(validator, [OpenAPISpecTests.specPath])
        #expect(status == 0, "\(output)")
    }
}
