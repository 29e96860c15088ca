import Foundation

/// Writes a file atomically (temporary file, fsync, rename), created with its final mode before any byte is
/// written, so a secret is never readable by others and a reader never sees half a config.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        let temporary = "\(path).tmp-\(UUID().uuidString.prefix(8))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard descriptor >= 0 else {
            throw AgentError.internalError("cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        let written = data.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        fchmod(descriptor, mode)
        fsync(descriptor)
        close(descriptor)
        guard written == data.count else {
            unlink(temporary)
            throw AgentError.internalError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw AgentError.internalError("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}
