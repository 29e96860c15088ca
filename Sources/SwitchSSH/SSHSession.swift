import AgentCore
import CLibSSH2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a session proves who it is.
public enum SSHCredential: Sendable {
    case password(Secret)
    /// A private key in PEM/OpenSSH form (in memory, never written to disk), optionally encrypted.
    case privateKey(Secret, passphrase: Secret?)
}

/// What an exec channel returned.
public struct SSHExecResult: Sendable, Equatable {
    public var exitStatus: Int
    public var standardOutput: String
    public var standardError: String
}

/// One libssh2 session in non-blocking mode, driven from Swift concurrency: every call that would block returns
/// EAGAIN and the task waits for the socket with short sleeps, so no thread is held while a device thinks.
/// Not thread-safe: one task uses a session at a time (the pool hands it out under a per-device lock).
public final class SSHSession: @unchecked Sendable {
    public let device: String
    let socketDescriptor: Int32
    var session: OpaquePointer?
    /// `SHA256:<base64>` like OpenSSH prints it.
    public let hostKeyFingerprint: String
    public let banner: String

    static let libraryReady: Bool = libssh2_init(0) == 0

    private init(device: String, socketDescriptor: Int32, session: OpaquePointer, hostKeyFingerprint: String, banner: String) {
        self.device = device
        self.socketDescriptor = socketDescriptor
        self.session = session
        self.hostKeyFingerprint = hostKeyFingerprint
        self.banner = banner
    }

    deinit { close() }

    /// TCP connect and SSH handshake, within `timeout`. Keepalives every `keepaliveSeconds` (0: off).
    public static func connect(device: String, host: String, port: Int, timeout: Duration, keepaliveSeconds: Int) async throws -> SSHSession {
        guard libraryReady else { throw SwitchError.ssh(device: device, detail: "libssh2_init failed") }
        let deadline = ContinuousClock.now + timeout
        let descriptor = try await openSocket(device: device, host: host, port: port, deadline: deadline)
        guard let session = ra_session_init() else {
            Glibc.close(descriptor)
            throw SwitchError.ssh(device: device, detail: "libssh2_session_init failed")
        }
        libssh2_session_set_blocking(session, 0)
        if keepaliveSeconds > 0 { libssh2_keepalive_config(session, 1, UInt32(keepaliveSeconds)) }
        let pending = PendingSession(device: device, descriptor: descriptor, session: session)
        do {
            try await pending.call("handshake", deadline: deadline) { libssh2_session_handshake(session, descriptor) }
        } catch {
            pending.discard()
            throw error
        }
        var fingerprint = ""
        if let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256) {
            let bytes = UnsafeRawPointer(hash).assumingMemoryBound(to: UInt8.self)
            fingerprint = "SHA256:" + Data(bytes: bytes, count: 32).base64EncodedString().replacingOccurrences(of: "=", with: "")
        }
        let banner = libssh2_session_banner_get(session).map { String(cString: $0) } ?? ""
        return SSHSession(device: device, socketDescriptor: descriptor, session: session, hostKeyFingerprint: fingerprint, banner: banner)
    }

    /// A non-blocking TCP connection to the first address of `host` that accepts, before `deadline`.
    static func openSocket(device: String, host: String, port: Int, deadline: ContinuousClock.Instant) async throws -> Int32 {
        let addresses = try await resolve(device: device, host: host, port: port)
        var lastError = "no address"
        for address in addresses {
            let descriptor = socket(Int32(address.family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { continue }
            let started = address.storage.withUnsafeBytes { raw in
                Glibc.connect(descriptor, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), address.length)
            }
            if started == 0 { return descriptor }
            guard errno == EINPROGRESS else {
                lastError = String(cString: strerror(errno))
                Glibc.close(descriptor)
                continue
            }
            do {
                try await SocketWait.until(descriptor: descriptor, events: Int16(POLLOUT), deadline: deadline, device: device, phase: "connect")
            } catch {
                Glibc.close(descriptor)
                throw error
            }
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &code, &size)
            if code == 0 { return descriptor }
            lastError = String(cString: strerror(code))
            Glibc.close(descriptor)
        }
        throw SwitchError.unreachable(device: device, detail: "cannot connect to \(host):\(port): \(lastError)")
    }

    struct ResolvedAddress: @unchecked Sendable {
        var family: Int32
        var storage: Data
        var length: socklen_t
    }

    /// getaddrinfo on a dispatch queue: a slow resolver must not hold a cooperative thread.
    static func resolve(device: String, host: String, port: Int) async throws -> [ResolvedAddress] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, String(port), &hints, &result)
                guard status == 0, let first = result else {
                    continuation.resume(throwing: SwitchError.unreachable(device: device, detail: "cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [ResolvedAddress] = []
                var cursor: UnsafeMutablePointer<addrinfo>? = first
                while let entry = cursor {
                    addresses.append(ResolvedAddress(
                        family: entry.pointee.ai_family, storage: Data(bytes: entry.pointee.ai_addr, count: Int(entry.pointee.ai_addrlen)),
                        length: entry.pointee.ai_addrlen))
                    cursor = entry.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }

    /// Password (falling back to keyboard-interactive, which many switches require) or public key.
    public func authenticate(user: String, credential: SSHCredential, timeout: Duration) async throws {
        let session = try live()
        let deadline = ContinuousClock.now + timeout
        let methods = try await pointerCall("authentication methods", deadline: deadline) { libssh2_userauth_list(session, user, UInt32(user.utf8.count)) }
            .map { String(cString: $0) } ?? ""
        if libssh2_userauth_authenticated(session) != 0 { return }
        switch credential {
        case .password(let password):
            if methods.contains("password") {
                let status = try await call("password authentication", deadline: deadline, acceptFailure: true) {
                    ra_userauth_password(session, user, password.revealed)
                }
                if status == 0 { return }
            }
            if methods.contains("keyboard-interactive") {
                let copy = strdup(password.revealed)
                defer { free(copy) }
                let status = try await call("keyboard-interactive authentication", deadline: deadline, acceptFailure: true) {
                    ra_userauth_keyboard_interactive(session, user, copy)
                }
                if status == 0 { return }
            }
        case .privateKey(let key, let passphrase):
            let status = try await call("public-key authentication", deadline: deadline, acceptFailure: true) {
                key.revealed.withCString { keyText in
                    libssh2_userauth_publickey_frommemory(
                        session, user, user.utf8.count, nil, 0, keyText, key.revealed.utf8.count, passphrase?.revealed)
                }
            }
            if status == 0 { return }
        }
        throw SwitchError.authenticationFailed(device: device, methods: methods.isEmpty ? "none" : methods)
    }

    /// Runs one command on an exec channel: exit status, stdout and stderr.
    public func exec(_ command: String, timeout: Duration) async throws -> SSHExecResult {
        let session = try live()
        let deadline = ContinuousClock.now + timeout
        let channel = try await pointerCall("open channel", deadline: deadline) { ra_channel_open_session(session) }
        guard let channel else { throw SwitchError.ssh(device: device, detail: "cannot open a channel: \(lastError())") }
        defer { libssh2_channel_free(channel) }
        let started = try await call("exec", deadline: deadline, acceptFailure: true) { ra_channel_exec(channel, command) }
        guard started == 0 else { throw SwitchError.ssh(device: device, detail: "the server refused the exec request (\(started)): \(lastError())") }
        var output = Data()
        var errors = Data()
        var buffer = [CChar](repeating: 0, count: 32_768)
        while true {
            let got = ra_channel_read(channel, &buffer, buffer.count)
            if got > 0 {
                output.append(Data(bytes: buffer, count: got))
                continue
            }
            let gotError = ra_channel_read_stderr(channel, &buffer, buffer.count)
            if gotError > 0 {
                errors.append(Data(bytes: buffer, count: gotError))
                continue
            }
            if libssh2_channel_eof(channel) != 0 { break }
            let again = Int(LIBSSH2_ERROR_EAGAIN)
            guard got == again || got == 0, gotError == again || gotError == 0 else {
                throw SwitchError.ssh(device: device, detail: "reading the exec channel failed (\(min(got, gotError))): \(lastError())")
            }
            try await waitForSocket(deadline: deadline, phase: "exec `\(command.prefix(60))`")
        }
        _ = try await call("close channel", deadline: deadline, acceptFailure: true) { libssh2_channel_close(channel) }
        _ = try await call("close channel", deadline: deadline, acceptFailure: true) { libssh2_channel_wait_closed(channel) }
        return SSHExecResult(
            exitStatus: Int(libssh2_channel_get_exit_status(channel)), standardOutput: String(decoding: output, as: UTF8.self),
            standardError: String(decoding: errors, as: UTF8.self))
    }

    /// An interactive shell on a pseudo-terminal (what vendor CLIs expect).
    public func openShell(columns: Int = 511, rows: Int = 200, timeout: Duration) async throws -> SSHShellChannel {
        let session = try live()
        let deadline = ContinuousClock.now + timeout
        let channel = try await pointerCall("open channel", deadline: deadline) { ra_channel_open_session(session) }
        guard let channel else { throw SwitchError.ssh(device: device, detail: "cannot open a channel: \(lastError())") }
        do {
            let pty = try await call("pty request", deadline: deadline, acceptFailure: true) { ra_channel_request_pty(channel, "vt100", Int32(columns), Int32(rows)) }
            guard pty == 0 else { throw SwitchError.ssh(device: device, detail: "the server refused a pseudo-terminal: \(lastError())") }
            let shell = try await call("shell request", deadline: deadline, acceptFailure: true) { ra_channel_shell(channel) }
            guard shell == 0 else { throw SwitchError.ssh(device: device, detail: "the server refused a shell: \(lastError())") }
        } catch {
            libssh2_channel_free(channel)
            throw error
        }
        return SSHShellChannel(session: self, channel: channel)
    }

    public var isOpen: Bool { session != nil }

    /// Disconnects and frees everything (idempotent).
    public func close() {
        guard let session else { return }
        self.session = nil
        _ = ra_session_disconnect(session, "rackagent done")
        libssh2_session_free(session)
        Glibc.close(socketDescriptor)
    }

    // MARK: - Non-blocking plumbing

    func live() throws -> OpaquePointer {
        guard let session else { throw SwitchError.ssh(device: device, detail: "the session is closed") }
        return session
    }

    func lastError() -> String {
        guard let session else { return "closed" }
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        libssh2_session_last_error(session, &message, &length, 0)
        return message.map { String(cString: $0) } ?? "unknown error"
    }

    /// Calls `body` until it stops answering EAGAIN. Negative results other than EAGAIN throw unless `acceptFailure`.
    @discardableResult
    func call(_ phase: String, deadline: ContinuousClock.Instant, acceptFailure: Bool = false, _ body: () -> Int32) async throws -> Int32 {
        while true {
            let status = body()
            if status == LIBSSH2_ERROR_EAGAIN {
                try await waitForSocket(deadline: deadline, phase: phase)
                continue
            }
            if status < 0, !acceptFailure { throw SwitchError.ssh(device: device, detail: "\(phase) failed (\(status)): \(lastError())") }
            return status
        }
    }

    /// Like ``call`` for functions that return a pointer and report EAGAIN through the session's errno.
    func pointerCall<Pointer>(_ phase: String, deadline: ContinuousClock.Instant, _ body: () -> Pointer?) async throws -> Pointer? {
        while true {
            if let result = body() { return result }
            guard let session, libssh2_session_last_errno(session) == LIBSSH2_ERROR_EAGAIN else { return nil }
            try await waitForSocket(deadline: deadline, phase: phase)
        }
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on.
    func waitForSocket(deadline: ContinuousClock.Instant, phase: String) async throws {
        guard let session else { throw SwitchError.ssh(device: device, detail: "the session is closed") }
        // Keepalives go out only when due (libssh2_keepalive_config); a device thinking for long keeps the path open.
        var nextKeepalive: Int32 = 0
        _ = libssh2_keepalive_send(session, &nextKeepalive)
        let directions = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        try await SocketWait.until(descriptor: socketDescriptor, events: events == 0 ? Int16(POLLIN) : events, deadline: deadline, device: device, phase: phase)
    }
}

/// A session still being set up: the same retry plumbing before the ``SSHSession`` exists.
struct PendingSession {
    let device: String
    let descriptor: Int32
    let session: OpaquePointer

    func call(_ phase: String, deadline: ContinuousClock.Instant, _ body: () -> Int32) async throws {
        while true {
            let status = body()
            if status == 0 { return }
            guard status == LIBSSH2_ERROR_EAGAIN else {
                var message: UnsafeMutablePointer<CChar>?
                var length: Int32 = 0
                libssh2_session_last_error(session, &message, &length, 0)
                throw SwitchError.ssh(device: device, detail: "\(phase) failed (\(status)): \(message.map { String(cString: $0) } ?? "")")
            }
            let directions = libssh2_session_block_directions(session)
            let events: Int16 = directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 ? Int16(POLLOUT) : Int16(POLLIN)
            try await SocketWait.until(descriptor: descriptor, events: events, deadline: deadline, device: device, phase: phase)
        }
    }

    func discard() {
        libssh2_session_free(session)
        Glibc.close(descriptor)
    }
}

/// Socket readiness without holding a thread per device: one poller thread for the whole process watches every
/// socket a session waits on and resumes the waiting task when it is ready or its deadline passes.
enum SocketWait {
    static func until(descriptor: Int32, events: Int16, deadline: ContinuousClock.Instant, device: String, phase: String) async throws {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        if poll(&entry, 1, 0) > 0 { return }
        try await SocketPoller.shared.wait(descriptor: descriptor, events: events, deadline: deadline, device: device, phase: phase)
    }
}

/// The process-wide poll loop behind ``SocketWait``.
final class SocketPoller: @unchecked Sendable {
    static let shared = SocketPoller()

    private struct Waiter {
        let descriptor: Int32
        let events: Int16
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, any Error>
        let device: String
        let phase: String
    }

    private let lock = NSLock()
    private var waiters: [UInt64: Waiter] = [:]
    private var nextIdentifier: UInt64 = 0
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private init() {
        var descriptors: [Int32] = [0, 0]
        pipe(&descriptors)
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = descriptors[0]
        wakeWrite = descriptors[1]
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "rackagent-ssh-poller"
        thread.start()
    }

    func wait(descriptor: Int32, events: Int16, deadline: ContinuousClock.Instant, device: String, phase: String) async throws {
        let identifier = lock.withLock { () -> UInt64 in
            nextIdentifier += 1
            return nextIdentifier
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = lock.withLock { () -> Bool in
                    if Task.isCancelled { return true }
                    waiters[identifier] = Waiter(descriptor: descriptor, events: events, deadline: deadline, continuation: continuation, device: device, phase: phase)
                    return false
                }
                if cancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    wake()
                }
            }
        } onCancel: {
            finish(identifier, with: .failure(CancellationError()))
        }
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func finish(_ identifier: UInt64, with result: Result<Void, any Error>) {
        let waiter = lock.withLock { waiters.removeValue(forKey: identifier) }
        waiter?.continuation.resume(with: result)
    }

    private func loop() {
        while true {
            let current = lock.withLock { Array(waiters) }
            var descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            descriptors += current.map { pollfd(fd: $0.value.descriptor, events: $0.value.events, revents: 0) }
            var timeout: Int32 = 1000
            if let nearest = current.map(\.value.deadline).min() {
                let remaining = nearest - ContinuousClock.now
                let milliseconds = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
                timeout = Int32(max(0, min(1000, milliseconds + 1)))
            }
            _ = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if descriptors[0].revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 256)
                while Glibc.read(wakeRead, &buffer, buffer.count) > 0 {}
            }
            let now = ContinuousClock.now
            for (index, entry) in current.enumerated() {
                if descriptors[index + 1].revents != 0 {
                    finish(entry.key, with: .success(()))
                } else if now >= entry.value.deadline {
                    finish(entry.key, with: .failure(SwitchError.timeout(device: entry.value.device, phase: entry.value.phase)))
                }
            }
        }
    }
}

/// An interactive shell channel: write lines, read what arrived.
public final class SSHShellChannel: @unchecked Sendable {
    let session: SSHSession
    var channel: OpaquePointer?

    init(session: SSHSession, channel: OpaquePointer) {
        self.session = session
        self.channel = channel
    }

    deinit { close() }

    public func write(_ text: String, deadline: ContinuousClock.Instant) async throws {
        guard let channel else { throw SwitchError.ssh(device: session.device, detail: "the shell is closed") }
        var bytes = Array(text.utf8)
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { ra_channel_write(channel, $0, buffer.count) }
            }
            if sent == Int(LIBSSH2_ERROR_EAGAIN) {
                try await session.waitForSocket(deadline: deadline, phase: "write")
                continue
            }
            guard sent > 0 else { throw SwitchError.ssh(device: session.device, detail: "writing to the shell failed (\(sent)): \(session.lastError())") }
            bytes.removeFirst(sent)
        }
    }

    /// Reads until `done(buffer)` holds or `deadline`; returns everything read.
    public func read(until done: (String) -> Bool, deadline: ContinuousClock.Instant, phase: String) async throws -> String {
        guard let channel else { throw SwitchError.ssh(device: session.device, detail: "the shell is closed") }
        var received = Data()
        var buffer = [CChar](repeating: 0, count: 16_384)
        while true {
            let got = ra_channel_read(channel, &buffer, buffer.count)
            if got > 0 {
                received.append(Data(bytes: buffer, count: got))
                if done(String(decoding: received, as: UTF8.self)) { return String(decoding: received, as: UTF8.self) }
                continue
            }
            if got == 0 || got == Int(LIBSSH2_ERROR_EAGAIN) {
                if libssh2_channel_eof(channel) != 0 {
                    throw SwitchError.ssh(device: session.device, detail: "the device closed the shell (\(phase)); last output: \(String(decoding: received.suffix(200), as: UTF8.self))")
                }
                try await session.waitForSocket(deadline: deadline, phase: phase)
                continue
            }
            throw SwitchError.ssh(device: session.device, detail: "reading the shell failed (\(got)): \(session.lastError())")
        }
    }

    /// Frees the channel; after the session was closed the channel went with it and is only forgotten.
    public func close() {
        guard let channel else { return }
        self.channel = nil
        if session.isOpen { libssh2_channel_free(channel) }
    }
}
