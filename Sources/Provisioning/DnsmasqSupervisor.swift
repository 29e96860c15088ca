import AgentCore
import Foundation
import Logging
import ServiceLifecycle
import Subprocess
import Synchronization

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs dnsmasq (DHCP + TFTP) as a child of the agent with the rendered configuration, restarts it when it dies
/// (with backoff) or when the main configuration changed, and sends SIGHUP when host or option files changed or
/// went away (dnsmasq reads new files by itself, but forgets old definitions only on SIGHUP).
public final class DnsmasqSupervisor: Service, Sendable {
    let executable: String
    let configurationFile: String
    let directory: String
    let logger: Logger
    private let state = Mutex(ChildState())
    private let restartRequested = Doorbell()
    /// How long a freshly started dnsmasq must stay up to count as running the new configuration.
    static let settleTime = Duration.milliseconds(500)
    /// How long a configuration change waits for dnsmasq to take it.
    static let changeDeadline = Duration.seconds(15)

    /// The child as the run loop last saw it.
    private struct ChildState {
        var pid: Int32?
        var startedAt: ContinuousClock.Instant?
        /// How many times dnsmasq was started.
        var starts = 0
        /// How the last run ended (exit status and stderr), for errors.
        var lastExit: String?
    }

    public init(executable: String, configurationDirectory: String, logger: Logger) {
        self.executable = executable
        directory = configurationDirectory
        configurationFile = "\(configurationDirectory)/dnsmasq.conf"
        self.logger = logger
    }

    /// The running dnsmasq's PID, if any.
    public var processIdentifier: Int32? { state.withLock { $0.pid } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                guard FileManager.default.fileExists(atPath: self.configurationFile) else {
                    await self.restartRequested.wait(upTo: .seconds(1))
                    continue
                }
                let started = ContinuousClock.now
                let outcome = await self.runOnce()
                if Task.isCancelled { break }
                if ContinuousClock.now - started > .seconds(30) { failures = 0 }
                failures += 1
                let delay = OutboxDeliveryService.backoff(failures: failures, maximum: .seconds(30))
                self.logger.warning("dnsmasq stopped; restarting", metadata: ["outcome": "\(outcome)", "retryIn": "\(delay)"])
                await self.restartRequested.wait(upTo: delay)
            }
        }
    }

    /// Called after the live files were written; returns once dnsmasq runs on them. A changed main file restarts
    /// dnsmasq (a new process that stays up), changed or removed host files are re-read (SIGHUP to a process that
    /// stays up), new ones it reads by itself. Throws ``DHCPError/reloadFailed`` with dnsmasq's own complaint when
    /// it exits instead, or when it is not running and does not start.
    public func configurationChanged(restart: Bool, reread: Bool) async throws {
        let before = state.withLock { $0 }
        if let pid = before.pid, !restart {
            // dnsmasq re-reads the files on SIGHUP (new ones as they appear): watched for the settle time, like a
            // restart, before the change counts as live.
            if reread { kill(pid, SIGHUP) }
            try await Task.sleep(for: Self.settleTime)
            guard kill(pid, 0) == 0, processIdentifier == pid else { return try await waitUntilRunning(startedAfter: before.starts) }
            return
        }
        if let pid = before.pid {
            logger.info("dnsmasq configuration changed; restarting it")
            kill(pid, SIGTERM)
        }
        restartRequested.ring()
        try await waitUntilRunning(startedAfter: before.starts)
    }

    /// Waits (bounded) for a dnsmasq started after start number `starts` that stays up for the settle time.
    private func waitUntilRunning(startedAfter starts: Int) async throws {
        let deadline = ContinuousClock.now + Self.changeDeadline
        while ContinuousClock.now < deadline {
            let current = state.withLock { $0 }
            if current.starts > starts {
                if let startedAt = current.startedAt, current.pid != nil, ContinuousClock.now - startedAt >= Self.settleTime { return }
                if current.pid == nil, let exit = current.lastExit {
                    throw DHCPError.reloadFailed(backend: "dnsmasq", detail: "dnsmasq exited on the new configuration: \(exit)")
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let last = state.withLock { $0.lastExit } ?? "no exit seen"
        throw DHCPError.reloadFailed(backend: "dnsmasq", detail: "dnsmasq did not run on the new configuration within \(Self.changeDeadline): \(last)")
    }

    /// Runs dnsmasq until it exits or the task is cancelled (then it is terminated).
    private func runOnce() async -> String {
        // dnsmasq drops to user "dnsmasq" when started as root; keep it as the agent's own user so it can use
        // the agent's state directory (under systemd that user is unprivileged anyway).
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "root"
        let arguments = [
            "-k", "-C", configurationFile, "--pid-file=\(directory)/dnsmasq.pid", "--log-facility=\(directory)/dnsmasq.log", "--user=\(user)",
        ]
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: .seconds(3))]
        let executable: Executable = self.executable.contains("/") ? .path(FilePath(self.executable)) : .name(self.executable)
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), platformOptions: options, input: .none, output: .discarded, error: .string(limit: 65_536)
            ) { execution in
                self.state.withLock { state in
                    state.pid = execution.processIdentifier.value
                    state.startedAt = .now
                    state.starts += 1
                }
                self.logger.info("dnsmasq started", metadata: ["pid": "\(execution.processIdentifier.value)"])
            }
            let outcome = "\(result.terminationStatus) \((result.standardError ?? "").trimmingCharacters(in: .whitespacesAndNewlines).suffix(500))"
            state.withLock { state in
                state.pid = nil
                state.lastExit = outcome
            }
            return outcome
        } catch {
            let outcome = "could not start: \(error)"
            state.withLock { state in
                state.pid = nil
                state.starts += 1
                state.lastExit = outcome
            }
            return outcome
        }
    }
}

/// Kea's unix control socket: `{"command": "config-reload"}` makes kea-dhcp4 re-read its configuration file.
public struct KeaControlChannel: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public enum ChannelError: Error, CustomStringConvertible {
        case connect(String)
        case refused(String)
        /// No complete answer within `answerDeadline` (a hung Kea, or one that sends an answer that never ends).
        case noAnswer(received: Int)

        public var description: String {
            switch self {
            case .connect(let detail): return "cannot reach the control socket: \(detail)"
            case .refused(let answer): return "kea answered \(answer)"
            case .noAnswer(let received): return "kea sent no complete answer within \(KeaControlChannel.answerDeadline) (\(received) bytes)"
            }
        }
    }

    /// Asks kea-dhcp4 to re-read its configuration file; throws unless Kea answers `"result": 0`.
    public func reloadConfiguration() async throws {
        let answer = try await send(#"{"command": "config-reload"}"#)
        guard Self.succeeded(answer) else { throw ChannelError.refused(String(answer.prefix(300))) }
    }

    /// Kea's control answers are `{"result": 0, "text": ...}` (or a one-element list of them); 0 is success.
    static func succeeded(_ answer: String) -> Bool {
        guard let value = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(answer.utf8)) else { return false }
        let first: JSONValue? = if case .array(let items) = value { items.first } else { value }
        return first?["result"] == .integer(0)
    }

    /// How long one exchange may wait for Kea's whole answer, however Kea sends it.
    static let answerDeadline = Duration.seconds(10)

    /// Sends one command and returns the answer text (bounded wait), on the bulk blocking pool: the exchange may wait
    /// on the socket for up to `answerDeadline`, which must not hold the short calls requests wait for.
    public func send(_ command: String) async throws -> String {
        let path = self.path
        return try await BlockingWork.runBulk { try Self.exchange(command, path: path) }
    }

    private static func exchange(_ command: String, path: String) throws -> String {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ChannelError.connect(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        let deadline = ContinuousClock.now + answerDeadline
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ChannelError.connect("socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        // A connect waits while a hung Kea's backlog is full, and a write while its buffer is: both within the deadline.
        guard let sendTimeout = timeLeft(until: deadline) else { throw ChannelError.noAnswer(received: 0) }
        var sendWait = sendTimeout
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &sendWait, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            if errno == EAGAIN || errno == EINPROGRESS { throw ChannelError.noAnswer(received: 0) }
            throw ChannelError.connect("\(path): \(String(cString: strerror(errno)))")
        }
        let payload = Array(command.utf8)
        guard write(descriptor, payload, payload.count) == payload.count else { throw ChannelError.connect("write failed") }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        // Each read waits only for what is left of the deadline, so bytes that trickle in never extend it.
        while true {
            guard var readWait = timeLeft(until: deadline) else { throw ChannelError.noAnswer(received: answer.count) }
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &readWait, socklen_t(MemoryLayout<timeval>.size))
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0 {
                // A signal ends a read that has a timeout even with SA_RESTART: read again, for what is left.
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw ChannelError.noAnswer(received: answer.count) }
                throw ChannelError.connect("\(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            answer += buffer[0..<count]
            guard answer.count <= 1 << 20 else { throw ChannelError.refused("an answer of over 1 MiB") }
            // Kea keeps the connection open after its answer: stop reading once the answer is complete JSON.
            if (try? JSONSerialization.jsonObject(with: Data(answer))) != nil { break }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// What is left until `deadline` as a socket timeout (never 0, which would mean no timeout); nil once it passed.
    private static func timeLeft(until deadline: ContinuousClock.Instant) -> timeval? {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return nil }
        let parts = remaining.components
        return timeval(tv_sec: Int(parts.seconds), tv_usec: max(1, Int(parts.attoseconds / 1_000_000_000_000)))
    }
}
