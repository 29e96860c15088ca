import AgentCore
import AsyncHTTPClient
import Foundation
import NIOCore

/// A provider API on 127.0.0.1 replaying its seed document with state (Emulators/provider_replay.py): IONOS,
/// Venocix or CloudSigma. `/_control/*` queues canned answers and lists the requests seen.
public final class ProviderReplayPeer: Sendable {
    public let provider: String
    public let port: Int
    let process: PeerProcess
    let directory: TemporaryDirectory

    /// Credentials the replay accepts.
    public static let ionosToken = "ionos-test-token-0123456789abcdef"
    public static let venocixToken = "1|qpVodrZ3edt0DV4Q81dxQekTAessUHcH0Zjqv4t6"
    public static let cloudSigmaUser = "foo.bar@example.com"
    public static let cloudSigmaPassword = "sigma-secret-pw"
    /// Server ids of the seeds' examples.
    public static let ionosServer = "39AA65F5D5B02FA02D58173094EBAF95"
    public static let venocixVM = "4001"
    public static let venocixDedicated = "9"
    public static let cloudSigmaServer = "bb783ced-d2b4-4003-a66e-87337ea6427e"

    public init(provider: String) async throws {
        self.provider = provider
        port = FreePort.tcp()
        directory = try TemporaryDirectory(prefix: "replay-\(provider)")
        process = try await PeerProcess(
            name: "replay-\(provider)", executable: "/usr/bin/python3",
            arguments: [PeerTools.repositoryRoot + "/Tests/PeerHarness/Emulators/provider_replay.py", provider, String(port)],
            logPath: directory.file("replay.log"))
        try await process.waitForLog { $0.contains("listening on \(port)") }
    }

    /// The base URL a connection's `meta.baseUrl` points at (with the API's own path prefix).
    public var baseURL: String {
        switch provider {
        case "ionos": return "http://127.0.0.1:\(port)/v1"
        case "venocix": return "http://127.0.0.1:\(port)/api/v1"
        default: return "http://127.0.0.1:\(port)"
        }
    }

    /// Connection meta for the seed's example server.
    public func meta(server: String? = nil, kind: String? = nil, wrongCredentials: Bool = false) -> JSONValue {
        var meta: [String: JSONValue] = ["baseUrl": .string(baseURL)]
        switch provider {
        case "ionos":
            meta["apiKey"] = .string(wrongCredentials ? "wrong" : Self.ionosToken)
            meta["serverId"] = .string(server ?? Self.ionosServer)
        case "venocix":
            meta["token"] = .string(wrongCredentials ? "wrong" : Self.venocixToken)
            meta["serverId"] = .string(server ?? (kind == "dedicated" ? Self.venocixDedicated : Self.venocixVM))
            if let kind { meta["kind"] = .string(kind) }
        default:
            meta["username"] = .string(Self.cloudSigmaUser)
            meta["password"] = .string(wrongCredentials ? "wrong" : Self.cloudSigmaPassword)
            meta["serverId"] = .string(server ?? Self.cloudSigmaServer)
        }
        return .object(meta)
    }

    /// Answers the next API request with this (status, headers, body) instead of the replayed one.
    public func queue(status: Int, body: String, contentType: String = "application/json", headers: [String: String] = [:]) async throws {
        let document: JSONValue = ["status": .integer(Int64(status)), "body": .string(body), "contentType": .string(contentType),
                                   "headers": .object(headers.mapValues(JSONValue.string))]
        _ = try await Self.http("POST", "http://127.0.0.1:\(port)/_control/queue", body: document.jsonText)
    }

    /// Overrides fields of a server's replayed state.
    public func setState(server: String, _ fields: [String: JSONValue]) async throws {
        var document = fields
        document["server"] = .string(server)
        _ = try await Self.http("POST", "http://127.0.0.1:\(port)/_control/state", body: JSONValue.object(document).jsonText)
    }

    public struct SeenRequest: Decodable, Sendable {
        public let method: String
        public let path: String
        public let authorization: String?
        public let xToken: String?
        public let contentType: String?
        public let body: String
    }

    /// Every API request the replay answered, oldest first.
    public func requests() async throws -> [SeenRequest] {
        try JSONDecoder().decode([SeenRequest].self, from: Data(try await Self.http("GET", "http://127.0.0.1:\(port)/_control/requests").utf8))
    }

    /// A control call (short, loopback only).
    static func http(_ method: String, _ url: String, body: String? = nil) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = .RAW(value: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
        guard (200..<300).contains(Int(response.status.code)) else { throw HarnessError.peerFailed("replay control \(url): \(response.status) \(text)") }
        return text
    }

    public func stop() {
        process.stop()
        directory.remove()
    }
}
