import AgentCore
import Crypto
import Foundation
import Hummingbird
import Synchronization

/// The controller listener's gate: source allow-list first, then the bearer token. Every refusal is the
/// same 401 envelope, so a caller learns nothing about which check failed. `/healthz` needs no token.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext

    let token: BearerTokenFile
    let allowedSources: [IPNetwork]
    static let openPaths: Set<String> = ["/healthz"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if !allowedSources.isEmpty {
            guard let peer = context.peerAddress.flatMap(IPAddress.init), allowedSources.contains(where: { $0.contains(peer) }) else {
                context.logger.notice("request from a source outside api.allowedSources refused", metadata: ["peer": "\(context.peerAddress ?? "-")"])
                throw AgentError.unauthorized
            }
        }
        if Self.openPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw AgentError.unauthorized
        }
        guard token.matches(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            context.logger.notice("request with a wrong bearer token refused", metadata: ["peer": "\(context.peerAddress ?? "-")"])
            throw AgentError.unauthorized
        }
        return try await next(request, context)
    }
}

/// The API token, read from its file and re-read when the file changes (so `rackagent token rotate`
/// takes effect without a restart). Compared in constant time.
final class BearerTokenFile: Sendable {
    private struct Loaded {
        var modified: Date?
        var digest: [UInt8]
    }

    let path: String
    private let loaded: Mutex<Loaded>

    init(path: String) throws {
        self.path = path
        loaded = Mutex(try Self.load(path))
    }

    func matches(_ candidate: String) -> Bool {
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        let expected = loaded.withLock { state -> [UInt8] in
            if modified != state.modified, let fresh = try? Self.load(path) { state = fresh }
            return state.digest
        }
        let offered = Array(SHA256.hash(data: Array(candidate.utf8)))
        return Self.constantTimeEqual(expected, offered)
    }

    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    private static func load(_ path: String) throws -> Loaded {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw AgentError.internalError("token file \(path) is empty") }
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        return Loaded(modified: modified, digest: Array(SHA256.hash(data: Array(text.utf8))))
    }
}
