import AgentCore
import AsyncHTTPClient
import ControllerAPI
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The running agent's own API, as the CLI reaches it on this machine: the address from `api.listen` (or
/// `--api-url`), the token from the state directory, and trust in the agent's certificate only.
struct LocalAgentAPI {
    let configuration: AgentConfiguration
    let apiURL: String?

    /// Calls the API; the envelope's `result`, or a failure with the agent's message.
    func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, expecting expected: HTTPResponseStatus = .ok) async throws -> JSONValue {
        guard let token = try? String(contentsOfFile: configuration.tokenFilePath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw CommandFailure(message: "no API token at \(configuration.tokenFilePath): is the agent's state directory right (--state-dir)?")
        }
        let certificate = try AgentIdentity.ensureCertificate(configuration: configuration)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificate.certificatePath)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { Task { try? await client.shutdown() } }
        var request = HTTPClientRequest(url: try baseURL() + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(60))
        } catch {
            throw AgentUnreachable(message: "the agent's API at \(try baseURL()) does not answer (\(error)): is `rackagent serve` running?")
        }
        let data = try await response.body.collect(upTo: 4 << 20)
        let envelope = try JSONCoding.decoder.decode(JSONValue.self, from: Data(buffer: data))
        guard response.status == expected, let result = envelope["result"] else {
            throw CommandFailure(message: "the agent refused (HTTP \(response.status.code)): \(envelope["result"]?.stringValue ?? envelope.jsonText)")
        }
        return result
    }

    func baseURL() throws -> String {
        if let apiURL { return apiURL.hasSuffix("/") ? String(apiURL.dropLast()) : apiURL }
        let address = try ListenAddress(parsing: configuration.api.listen, key: "api.listen")
        var host = address.host == "0.0.0.0" || address.host.isEmpty ? "127.0.0.1" : (address.host == "::" ? "::1" : address.host)
        if host.contains(":") { host = "[\(host)]" }
        return "https://\(host):\(address.port)"
    }
}

/// The local agent did not answer at all (not running, restarting): a caller that waits anyway can try again.
struct AgentUnreachable: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
