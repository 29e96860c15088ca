import Foundation

/// A 0700 directory under the state directory for files that must exist for a moment and may hold a secret: an
/// ipmitool exec file carrying a new BMC user password, a copy of the DHCP configuration for the daemon's checker.
/// Each file exists only while its command runs; the daemon empties the directory when it starts, so not even a
/// kill -9 leaves one behind past the next start. Nothing of the agent's goes to /tmp.
public struct ScratchDirectory: Sendable {
    public let path: String

    public init(stateDirectory: String) {
        path = stateDirectory + "/scratch"
    }

    /// Creates the directory (0700) and, for the daemon at start-up, removes whatever a previous run left.
    public func prepare(emptying: Bool) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(path, 0o700) == 0 else { throw AgentError.internalError("cannot protect \(path): \(String(cString: strerror(errno)))") }
        guard emptying else { return }
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            try FileManager.default.removeItem(atPath: "\(path)/\(name)")
        }
    }

    /// Writes `contents` to a new 0600 file named after `purpose`, runs `body` with its path, and removes the file
    /// when `body` ends, however it ends.
    public func withFile<Value>(_ purpose: String, contents: Data, _ body: (String) async throws -> Value) async throws -> Value {
        try prepare(emptying: false)
        let file = "\(path)/\(purpose)-\(UUID().uuidString.prefix(12))"
        let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw AgentError.internalError("cannot create \(file): \(String(cString: strerror(errno)))") }
        let written = contents.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        defer { unlink(file) }
        guard written == contents.count else { throw AgentError.internalError("cannot write \(file)") }
        return try await body(file)
    }
}
