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
        try await Task.sleep(for: .milliseconds(200))
        for _ in 0..<10 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(waiting.value == calls, "the pool's work waited for the silent socket")
        // Closing the listener resets the waiting connections: every reload fails, none hangs.
        close(listener)
        for reload in reloads { await #expect(throws: (any Error).self) { try await reload.value } }
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
