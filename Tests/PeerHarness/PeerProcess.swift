import Foundation

/// A real protocol peer (ipmi_sim, snmpd, sshd, dnsmasq ...) started in the foreground by a test and
/// stopped by its PID.
public final class PeerProcess: @unchecked Sendable {
    public let name: String
    private let process: Process
    public let logPath: String

    /// Starts `executable` with `arguments`; its stdout and stderr go to `logPath`.
    public init(
        name: String, executable: String, arguments: [String], environment: [String: String] = [:],
        workingDirectory: String? = nil, logPath: String
    ) throws {
        self.name = name
        self.logPath = logPath
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The peer's log so far (for assertion messages).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL after `grace` (at once with `.zero`); waits (bounded) for the exit.
    public func stop(grace: Duration = .seconds(3)) {
        guard process.isRunning else { return }
        kill(pid, grace == .zero ? SIGKILL : SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            let hardDeadline = ContinuousClock.now + .seconds(2)
            while process.isRunning, ContinuousClock.now < hardDeadline { usleep(20_000) }
        }
    }

    /// Sends SIGSTOP/SIGCONT (a hung device).
    public func suspend() { kill(pid, SIGSTOP) }
    public func resume() { kill(pid, SIGCONT) }

    /// Waits until `predicate(log)` holds, bounded by `timeout`.
    public func waitForLog(timeout: Duration = .seconds(15), _ predicate: (String) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(log) { return }
            if !process.isRunning { throw HarnessError.peerFailed("\(name) exited: \(log.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("\(name) did not become ready: \(log.suffix(2000))")
    }

    deinit {
        stop(grace: .milliseconds(500))
    }
}

/// Locates a program on PATH plus the sbin directories.
public func locateProgram(_ name: String) -> String? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/local/sbin:/usr/sbin:/sbin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}
