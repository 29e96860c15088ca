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
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        chmod(target, mode_t(mode))
        return target
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
