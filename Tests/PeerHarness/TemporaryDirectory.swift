import Foundation

/// A per-test directory under /tmp, removed by `remove()` (tests call it in `defer`).
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "rackagent-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/\(prefix)-\(UUID().uuidString.prefix(12))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o755)
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    @discardableResult
    public func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Self.writeClosingOnExec(Data(text.utf8), to: target, mode: mode_t(mode))
        return target
    }

    /// Writes through a descriptor opened with O_CLOEXEC: a process another test spawns meanwhile must not inherit
    /// it, or executing the file fails with ETXTBSY for as long as that process lives.
    static func writeClosingOnExec(_ data: Data, to path: String, mode: mode_t) throws {
        let temporary = "\(path).\(UUID().uuidString.prefix(8))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let written = data.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == data.count else { throw POSIXError(.EIO) }
        chmod(temporary, mode)
        guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
