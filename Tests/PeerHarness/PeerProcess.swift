import Foundation
import Subprocess
import Synchronization

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A real protocol peer (ipmi_sim, snmpd, sshd, dnsmasq ...) started in the foreground by a test and
/// stopped by its PID. Spawned through swift-subprocess, which closes inherited descriptors in the child,
/// so a long-lived peer never holds another process's pipe open.
public final class PeerProcess: Sendable {
    public let name: String
    public let logPath: String
    public let pid: Int32
    private let exited = ExitFlag()
    private let task: Task<Void, Never>

    /// Starts `executable` with `arguments`; stdout and stderr go to `logPath`.
    public init(
        name: String, executable: String, arguments: [String], environment: [String: String] = [:],
        workingDirectory: String? = nil, logPath: String
    ) async throws {
        self.name = name
        self.logPath = logPath
        let log = try FileDescriptor.open(
            FilePath(logPath), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite, .groupRead, .otherRead])
        var overrides: [Environment.Key: String?] = [:]
        for (key, value) in environment {
            if let name = Environment.Key(rawValue: key) { overrides[name] = value }
        }
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(200))]
        let exited = self.exited
        let started = StartSignal()
        let environmentValue = Environment.inherit.updating(overrides)
        let directory = workingDirectory.map { FilePath($0) }
        let options_ = options
        task = Task {
            do {
                _ = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments), environment: environmentValue, workingDirectory: directory,
                    platformOptions: options_, input: .none, output: .fileDescriptor(log, closeAfterSpawningProcess: true),
                    error: .combinedWithOutput
                ) { execution in
                    started.resolve(.success(execution.processIdentifier.value))
                }
            } catch {
                started.resolve(.failure(error))
            }
            exited.set()
        }
        pid = try await started.value()
    }

    public var isRunning: Bool { !exited.isSet }

    /// The peer's log so far (for assertion messages).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Asks the peer to stop, SIGTERM (SIGKILL at once with `.zero`), and returns without waiting: a peer still
    /// running after `grace` gets SIGKILL from a background task. `terminate(grace:)` also waits for the exit.
    public func stop(grace: Duration = .seconds(3)) {
        guard isRunning else { return }
        kill(pid, grace == .zero ? SIGKILL : SIGTERM)
        guard grace > .zero else { return }
        let pid = self.pid
        let exited = self.exited
        Task.detached {
            try? await Task.sleep(for: grace)
            // Reaped already: the PID may belong to someone else now.
            if !exited.isSet { kill(pid, SIGKILL) }
        }
    }

    /// Stops the peer and waits until it has exited (bounded by `grace` plus three seconds), for a test that
    /// starts another peer on the same port or reads the log after the exit.
    public func terminate(grace: Duration = .seconds(3)) async {
        stop(grace: grace)
        let task = self.task
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await task.value }
            group.addTask { try? await Task.sleep(for: grace + .seconds(3)) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sends SIGSTOP/SIGCONT (a hung device).
    public func suspend() { kill(pid, SIGSTOP) }
    /// SIGKILL: the peer dies at once (a BMC that loses power).
    public func killNow() { kill(pid, SIGKILL) }
    public func resume() { kill(pid, SIGCONT) }

    /// Waits until `predicate(log)` holds, bounded by `timeout`.
    public func waitForLog(timeout: Duration = .seconds(15), _ predicate: (String) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(log) { return }
            if !isRunning { throw HarnessError.peerFailed("\(name) exited: \(log.suffix(2000))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("\(name) did not become ready: \(log.suffix(2000))")
    }

    deinit {
        if isRunning { kill(pid, SIGKILL) }
    }
}

/// Set once when the peer has exited (and been reaped).
final class ExitFlag: Sendable {
    private let state = Mutex(false)
    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}

/// Hands the spawned PID (or the launch error) from the spawning task to the initialiser, once.
final class StartSignal: Sendable {
    private let state = Mutex<(result: Result<Int32, any Error>?, waiter: CheckedContinuation<Int32, any Error>?)>((nil, nil))

    func resolve(_ result: Result<Int32, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Int32, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            let waiting = state.waiter
            state.waiter = nil
            return waiting
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<Int32, any Error>? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
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
