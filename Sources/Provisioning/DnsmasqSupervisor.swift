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
    private let child = Mutex<Int32?>(nil)
    private let restartRequested = Doorbell()

    public init(executable: String, configurationDirectory: String, logger: Logger) {
        self.executable = executable
        directory = configurationDirectory
        configurationFile = "\(configurationDirectory)/dnsmasq.conf"
        self.logger = logger
    }

    /// The running dnsmasq's PID, if any.
    public var processIdentifier: Int32? { child.withLock { $0 } }

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

    /// Called after the live files were written.
    public func configurationChanged(restart: Bool, reread: Bool) async {
        if restart, let pid = processIdentifier {
            logger.info("dnsmasq configuration changed; restarting it")
            kill(pid, SIGTERM)
        } else if reread, let pid = processIdentifier {
            kill(pid, SIGHUP)
        }
        restartRequested.ring()
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
                self.child.withLock { $0 = execution.processIdentifier.value }
                self.logger.info("dnsmasq started", metadata: ["pid": "\(execution.processIdentifier.value)"])
            }
            child.withLock { $0 = nil }
            return "\(result.terminationStatus) \(result.standardError ?? "")"
        } catch {
            child.withLock { $0 = nil }
            return "could not start: \(error)"
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

        public var description: String {
            switch self {
            case .connect(let detail): return "cannot reach the control socket: \(detail)"
            case .refused(let answer): return "kea answered \(answer)"
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

    /// Sends one command and returns the answer text (bounded wait), on the blocking pool: the exchange waits on
    /// a socket for up to ten seconds.
    public func send(_ command: String) async throws -> String {
        let path = self.path
        return try await BlockingWork.run { try Self.exchange(command, path: path) }
    }

    private static func exchange(_ command: String, path: String) throws -> String {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ChannelError.connect(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ChannelError.connect("socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw ChannelError.connect("\(path): \(String(cString: strerror(errno)))") }
        let payload = Array(command.utf8)
        guard write(descriptor, payload, payload.count) == payload.count else { throw ChannelError.connect("write failed") }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[0..<count]
            // Kea keeps the connection open after its answer: stop reading once the answer is complete JSON.
            if (try? JSONSerialization.jsonObject(with: Data(answer))) != nil { break }
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
