import Foundation

/// A 0700 directory for files that must exist for a moment and may hold a secret: an ipmitool exec file carrying a
/// new BMC user password, a copy of the DHCP configuration for the daemon's checker. Each file exists only while its
/// command runs; the one exception is `ipmitool-home`, ipmitool's home with a one-entry manufacturer registry (see
/// `IPMIToolHome`), written when the daemon starts (after the directory is emptied) and by each shell command. The daemon's is `<stateDirectory>/scratch`, emptied when it starts, so not even a kill -9 leaves a
/// file behind past the next start; a shell command's is the invoking user's own (``forCommandLine(environment:)``),
/// so an admin's commands never write into, or depend on, the daemon's. Nothing of the agent's goes to /tmp.
public struct ScratchDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The daemon's directory.
    public init(stateDirectory: String) {
        self.init(path: stateDirectory + "/scratch")
    }

    /// The invoking user's directory: `$XDG_RUNTIME_DIR/rackagent-scratch` (a tmpfs the user owns, gone at logout),
    /// or `~/.cache/rackagent-scratch` (`$HOME`, else the home directory in the user database, as under a systemd unit
    /// without `User=`).
    public static func forCommandLine(
        environment: [String: String] = ProcessInfo.processInfo.environment, userHome: String? = userDatabaseHome()
    ) throws -> ScratchDirectory {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/"), ownedByMe(runtime) {
            return ScratchDirectory(path: runtime + "/rackagent-scratch")
        }
        guard let home = [environment["HOME"], userHome].compactMap({ $0 }).first(where: { $0.hasPrefix("/") }) else {
            throw AgentError.internalError("no place for temporary files: neither XDG_RUNTIME_DIR nor HOME is set, and the user has no home directory")
        }
        return ScratchDirectory(path: home + "/.cache/rackagent-scratch")
    }

    /// The effective user's home directory from the user database.
    public static func userDatabaseHome() -> String? {
        guard let entry = getpwuid(geteuid()), let directory = entry.pointee.pw_dir else { return nil }
        return String(cString: directory)
    }

    static func ownedByMe(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_uid == geteuid()
    }

    /// Creates the directory (0700) and, for the daemon at start-up, removes whatever a previous run left. A
    /// directory of that name owned by another user (made by a command run as root before the daemon's first start)
    /// is never used: the daemon moves it aside (`scratch.foreign-<time>`) and returns a note saying so; elsewhere
    /// it is an error.
    @discardableResult
    public func prepare(emptying: Bool) throws -> String? {
        var note: String?
        var status = stat()
        if lstat(path, &status) == 0, status.st_uid != geteuid() || (status.st_mode & S_IFMT) != S_IFDIR {
            guard emptying else {
                throw AgentError.internalError("\(path) belongs to another user (uid \(status.st_uid)) or is not a directory; remove it")
            }
            let aside = "\(path).foreign-\(Int(Date().timeIntervalSince1970))"
            guard rename(path, aside) == 0 else {
                throw AgentError.internalError("\(path) belongs to uid \(status.st_uid) and cannot be moved aside: \(String(cString: strerror(errno)))")
            }
            note = "\(path) belonged to uid \(status.st_uid); moved aside to \(aside)"
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard chmod(path, 0o700) == 0 else { throw AgentError.internalError("cannot protect \(path): \(String(cString: strerror(errno)))") }
        guard emptying else { return note }
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            try FileManager.default.removeItem(atPath: "\(path)/\(name)")
        }
        return note
    }

    /// Writes `contents` to a new 0600 file named after `purpose` (on the blocking pool), runs `body` with its path,
    /// and removes the file when `body` ends, however it ends.
    public func withFile<Value>(_ purpose: String, contents: Data, _ body: (String) async throws -> Value) async throws -> Value {
        let file = "\(path)/\(purpose)-\(UUID().uuidString.prefix(12))"
        try await BlockingWork.run { [self] in
            try prepare(emptying: false)
            let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw AgentError.internalError("cannot create \(file): \(String(cString: strerror(errno)))") }
            let written = contents.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            close(descriptor)
            guard written == contents.count else {
                unlink(file)
                throw AgentError.internalError("cannot write \(file)")
            }
        }
        defer { unlink(file) }
        return try await body(file)
    }
}
