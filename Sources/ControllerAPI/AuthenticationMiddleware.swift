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
    /// Refusals are logged once a minute per kind and peer: a client retrying with a stale token cannot flood the log.
    let refusals: LogThrottle
    static let openPaths: Set<String> = ["/healthz"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if !allowedSources.isEmpty {
            guard let peer = context.peerAddress.flatMap(IPAddress.init), allowedSources.contains(where: { $0.contains(peer) }) else {
                let peer = context.peerAddress ?? "-"
                refusals.log(context.logger, level: .notice, kind: "source \(peer)", "request from a source outside api.allowedSources refused",
                             metadata: ["peer": "\(peer)"])
                throw AgentError.unauthorized
            }
        }
        if Self.openPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw AgentError.unauthorized
        }
        guard await token.matches(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            let peer = context.peerAddress ?? "-"
            refusals.log(context.logger, level: .notice, kind: "token \(peer)", "request with a wrong bearer token refused", metadata: ["peer": "\(peer)"])
            throw AgentError.unauthorized
        }
        return try await next(request, context)
    }
}

/// The API token, read once and re-read when its file changes, so `rackagent token rotate` takes effect without a
/// restart. Requests compare with the digest in memory (constant time); the file is looked at (on the blocking
/// pool, never a cooperative thread) at most once a second, and at once (at most every 100 ms) for a token that does
/// not match: a rotated token works on its first use, and the old one stops working then, or a second later at most.
final class BearerTokenFile: Sendable {
    private struct Loaded {
        var stamp: FileStamp?
        var digest: [UInt8]
        var checkedAt: ContinuousClock.Instant
        /// The last check a token that did not match asked for (they are limited, a flood of wrong tokens must
        /// not become a flood of file reads).
        var mismatchCheckedAt: ContinuousClock.Instant?
        /// The check under way: requests that want one meanwhile wait for it rather than start another or skip it.
        var inFlight: Task<Void, Never>?
    }

    /// What tells a rewritten file from the one loaded.
    private struct FileStamp: Equatable {
        var modified: Date?
        var size: Int?
        var inode: Int?
    }

    let path: String
    private let loaded: Mutex<Loaded>
    static let recheckInterval = Duration.seconds(1)
    static let mismatchRecheckInterval = Duration.milliseconds(100)

    init(path: String) throws {
        self.path = path
        let (stamp, digest) = try Self.read(path)
        loaded = Mutex(Loaded(stamp: stamp, digest: digest, checkedAt: .now))
    }

    /// Compares with the token loaded, after a look at the file when the last one is a second old (so a rotation
    /// retires the old token within a second) and, for a token that does not match, after a fresh look (so the first
    /// use of a freshly rotated token works). Requests that want a look while one is under way wait for that one;
    /// a look is a stat and, when the file changed, a read of a few bytes, on the short blocking pool.
    func matches(_ candidate: String) async -> Bool {
        let offered = Array(SHA256.hash(data: Array(candidate.utf8)))
        await startCheckIfDue(afterMismatch: false)?.value
        if Self.constantTimeEqual(loaded.withLock { $0.digest }, offered) { return true }
        await startCheckIfDue(afterMismatch: true)?.value
        return Self.constantTimeEqual(loaded.withLock { $0.digest }, offered)
    }

    /// Starts a look at the file (off the cooperative pool) if the last check is older than a second, or, for a token
    /// that did not match, than the last such check by 100 ms; returns the check under way, if any, to wait for.
    private func startCheckIfDue(afterMismatch: Bool) -> Task<Void, Never>? {
        loaded.withLock { state -> Task<Void, Never>? in
            if let running = state.inFlight { return running }
            let now = ContinuousClock.now
            if afterMismatch {
                guard state.mismatchCheckedAt.map({ now - $0 >= Self.mismatchRecheckInterval }) ?? true else { return nil }
                state.mismatchCheckedAt = now
            } else {
                guard now - state.checkedAt >= Self.recheckInterval else { return nil }
            }
            let task = Task { await self.reload() }
            state.inFlight = task
            return task
        }
    }

    /// One look at the file; a file that is gone, empty or unreadable keeps the token loaded (a rotation caught half
    /// way must not lock the controller out).
    private func reload() async {
        let path = self.path
        let known = loaded.withLock { $0.stamp }
        let fresh = try? await BlockingWork.run { () -> (FileStamp, [UInt8])? in
            guard Self.stamp(path) != known else { return nil }
            return try Self.read(path)
        }
        loaded.withLock { state in
            if let fresh = fresh ?? nil {
                state.stamp = fresh.0
                state.digest = fresh.1
            }
            state.checkedAt = .now
            state.inFlight = nil
        }
    }

    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    private static func stamp(_ path: String) -> FileStamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return FileStamp(
            modified: attributes[.modificationDate] as? Date, size: (attributes[.size] as? NSNumber)?.intValue,
            inode: (attributes[.systemFileNumber] as? NSNumber)?.intValue)
    }

    /// The file's stamp and the digest of its token; a missing or empty file is an error (the old token stays).
    private static func read(_ path: String) throws -> (FileStamp, [UInt8]) {
        let stamp = Self.stamp(path)
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, let stamp else { throw AgentError.internalError("token file \(path) is empty or gone") }
        return (stamp, Array(SHA256.hash(data: Array(text.utf8))))
    }
}
