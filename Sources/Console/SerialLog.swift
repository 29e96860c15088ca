import AgentCore
import Foundation
import NIOCore
import Synchronization

/// The last `capacity` bytes appended to it.
public struct ByteRing: Sendable, Equatable {
    public let capacity: Int
    private var storage: [UInt8] = []
    /// Every byte ever appended, kept or not.
    public private(set) var totalBytes: UInt64 = 0

    public init(capacity: Int, contents: [UInt8] = []) {
        precondition(capacity > 0)
        self.capacity = capacity
        append(contents)
        totalBytes = UInt64(contents.count)
    }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        totalBytes += UInt64(bytes.count)
        storage.append(contentsOf: bytes.suffix(capacity))
        // Trimmed in batches: the copy happens once per `capacity` bytes, not per append.
        if storage.count >= 2 * capacity { storage.removeFirst(storage.count - capacity) }
    }

    /// The kept bytes, oldest first.
    public var contents: [UInt8] { Array(storage.suffix(capacity)) }

    /// The newest `count` kept bytes.
    public func tail(_ count: Int) -> [UInt8] { Array(storage.suffix(min(count, capacity))) }
}

/// Each server's serial output tail (`console.serialLogBytes`), fed by every SOL session of the server whether
/// anyone watches or not, and kept on disk (`<stateDirectory>/console-logs/<serverId>.log`) so a failed
/// installation's last screen outlives the session and an agent restart.
public final class SerialLogStore: Sendable {
    struct Entry: Sendable {
        var ring: ByteRing
        var updatedAt: Date
        var dirty: Bool
    }

    public let directory: String
    let capacity: Int
    private let logs = Mutex<[String: Entry]>([:])

    public init(directory: String, capacity: Int) {
        self.directory = directory
        self.capacity = capacity
    }

    /// Appends output of `serverId`'s console.
    public func append(_ serverId: String, _ bytes: ByteBuffer, now: Date = Date()) {
        logs.withLock { logs in
            var entry = logs[serverId] ?? Entry(ring: ByteRing(capacity: capacity), updatedAt: now, dirty: false)
            entry.ring.append(bytes.readableBytesView)
            entry.updatedAt = now
            entry.dirty = true
            logs[serverId] = entry
        }
    }

    /// The kept output and when it last grew; from disk when this run has not seen the server's console yet.
    public func read(_ serverId: String) async throws -> (bytes: [UInt8], updatedAt: Date)? {
        if let entry = logs.withLock({ $0[serverId] }) { return (entry.ring.contents, entry.updatedAt) }
        let path = file(serverId)
        return try await BlockingWork.run {
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let modified = (try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
            return (Array(data.suffix(self.capacity)), modified)
        }
    }

    /// The newest `count` bytes kept in memory for `serverId` (what a joining viewer sees first).
    public func tail(_ serverId: String, _ count: Int) -> [UInt8] {
        logs.withLock { $0[serverId]?.ring.tail(count) } ?? []
    }

    /// Writes the tails that grew since the last flush; a failure is returned for the caller to log, and the tail
    /// stays marked to be written next time.
    public func flush() async -> [String: String] {
        let pending = logs.withLock { logs -> [(String, [UInt8])] in
            var pending: [(String, [UInt8])] = []
            for (serverId, entry) in logs where entry.dirty {
                pending.append((serverId, entry.ring.contents))
                logs[serverId]?.dirty = false
            }
            return pending
        }
        guard !pending.isEmpty else { return [:] }
        let directory = self.directory
        var failures: [String: String] = [:]
        for (serverId, bytes) in pending {
            let path = file(serverId)
            do {
                try await BlockingWork.run {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    try AtomicFile.write(Data(bytes), to: path, mode: 0o600)
                }
            } catch {
                failures[serverId] = AgentError.from(error).message
                logs.withLock { $0[serverId]?.dirty = true }
            }
        }
        return failures
    }

    func file(_ serverId: String) -> String {
        precondition(ConsoleRequest.isServerId(serverId), "server ids are validated before they reach the serial log")
        return "\(directory)/\(serverId).log"
    }
}
