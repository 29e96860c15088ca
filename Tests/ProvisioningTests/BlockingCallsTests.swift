import AgentCore
import Foundation
import PeerHarness
import Provisioning
import Synchronization
import Testing

/// Calls that wait on the operating system (a socket, a file) run on the blocking pool, so the cooperative pool (two
/// threads on a 2-core machine) keeps running everything else meanwhile.
@Suite(.serialized) struct BlockingCallsTests {
    /// A Kea control socket that accepts and never answers (a hung kea-dhcp4): four reloads wait on it at once (each
    /// up to its 10-second read timeout), and work on the cooperative pool goes on meanwhile: a loop of short sleeps
    /// ends while all four still wait. Blocking reads on the pool's threads would hold it back until they time out.
    @Test func aSilentKeaSocketDoesNotHoldTheCooperativePool() async throws {
        let directory = try TemporaryDirectory(prefix: "kea-silent")
        defer { directory.remove() }
        let path = directory.file("kea.sock")
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            let bytes = Array(path.utf8)
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(bound == 0 && listen(listener, 16) == 0)

        // The suite's other tests start together and can keep both cooperative threads busy for seconds (seen: 17 s
        // at the start of a full run); the experiment begins once the pool is prompt again.
        try await Self.waitUntilTheCooperativePoolIsPrompt()

        // More calls than the machine has cores, so that on any machine blocking reads on the cooperative pool
        // would hold all of it.
        let calls = max(4, ProcessInfo.processInfo.activeProcessorCount + 2)
        let waiting = WaitingCount(calls)
        let reloads = (0..<calls).map { _ in
            Task {
                defer { waiting.done() }
                try await KeaControlChannel(path: path).reloadConfiguration()
            }
        }
        let started = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(200))
        for _ in 0..<10 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(waiting.value == calls, "the pool's work waited for the silent socket: 300 ms of sleeps took \(ContinuousClock.now - started)")
        // Closing the listener resets the waiting connections: every reload fails, none hangs.
        close(listener)
        for reload in reloads { await #expect(throws: (any Error).self) { try await reload.value } }
    }

    /// A Kea that answers a byte at a time and never completes its answer (a space every 200 ms) does not hold the
    /// exchange past its deadline: each byte used to restart the 10 s read timeout, so the reload never ended.
    @Test func aKeaThatTricklesBytesIsGivenUpOnAtTheDeadline() async throws {
        let kea = try TricklingSocket()
        defer { kea.stop() }
        let started = ContinuousClock.now
        let reload = Task { try await KeaControlChannel(path: kea.path).reloadConfiguration() }
        let ended = Mutex(false)
        let watcher = Task {
            _ = await reload.result
            ended.withLock { $0 = true }
        }
        for _ in 0..<400 where !ended.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(100)) }
        let elapsed = ContinuousClock.now - started
        kea.stop()
        await watcher.value
        #expect(elapsed < .seconds(30), "the reload was still reading the trickle after \(elapsed)")
        #expect(elapsed > .seconds(9), "gave up before the deadline: \(elapsed)")
        #expect(kea.bytesSent > 10, "the socket trickled (\(kea.bytesSent) bytes)")
        await #expect {
            try await reload.value
        } throws: { error in
            "\(error)".contains("no complete answer within")
        }
    }

    /// The cooperative pool is prompt when ten 10 ms sleeps each come back within 100 ms (bounded: 60 s).
    static func waitUntilTheCooperativePoolIsPrompt() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        var prompt = 0
        while prompt < 10, ContinuousClock.now < deadline {
            let before = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(10))
            prompt = ContinuousClock.now - before < .milliseconds(100) ? prompt + 1 : 0
        }
        try #require(prompt >= 10, "the cooperative pool stayed busy for 60 s before the experiment")
    }

    /// Hashing ISOs and writing downloads (bulk work, seconds to minutes each) never queue in front of the short
    /// calls a request waits for, such as the token-file check.
    @Test func bulkWorkDoesNotDelayShortCalls() async throws {
        // More sleepers than the short pool has threads: with one pool for both, the short call would wait 1.2 s.
        let bulk = (0..<5).map { _ in Task { try await BlockingWork.runBulk { usleep(1_200_000) } } }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        let answer = try await BlockingWork.run { 42 }
        #expect(answer == 42)
        #expect(ContinuousClock.now - started < .seconds(1), "a short call waited \(ContinuousClock.now - started) behind bulk work")
        for task in bulk { try await task.value }
    }
}

/// How many calls have not ended yet.
private final class WaitingCount: Sendable {
    private let count: Mutex<Int>
    init(_ count: Int) { self.count = Mutex(count) }
    func done() { count.withLock { $0 -= 1 } }
    var value: Int { count.withLock { $0 } }
}

/// A unix socket that accepts and sends one space every 200 ms to each connection, never a complete answer.
private final class TricklingSocket: Sendable {
    let path: String
    private let directory: TemporaryDirectory
    private let listener: Int32
    private let state = Mutex<(stopping: Bool, sent: Int)>((false, 0))
    private let finished = DispatchSemaphore(value: 0)

    init() throws {
        directory = try TemporaryDirectory(prefix: "kea-trickle")
        path = directory.file("kea.sock")
        listener = try ListeningSocket.unix(path: path, backlog: 4)
        let descriptor = listener
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            var connections: [Int32] = []
            defer { connections.forEach { close($0) } }
            // Bounded: 60 s of 200 ms steps, or until stop().
            for _ in 0..<300 {
                if state.withLock({ $0.stopping }) { return }
                var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                if poll(&waiting, 1, 200) > 0 {
                    let connection = accept(descriptor, nil, nil)
                    if connection >= 0 {
                        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                        connections.append(connection)
                    }
                }
                for connection in connections where send(connection, " ", 1, Int32(MSG_NOSIGNAL)) == 1 {
                    state.withLock { $0.sent += 1 }
                }
            }
        }
    }

    var bytesSent: Int { state.withLock { $0.sent } }

    /// Ends the trickle, closes every connection, then the listener.
    func stop() {
        let first = state.withLock { state in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        _ = finished.wait(timeout: .now() + 5)
        close(listener)
        directory.remove()
    }
}
