import AgentCore
import Foundation
import PeerHarness
import Provisioning
import Synchronization
import Testing

/// Calls that wait on the operating system (a socket, a file) run on the blocking pool, so the cooperative pool (two
/// threads on a 2-core machine) keeps running everything else meanwhile.
@Suite struct BlockingCallsTests {
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

        let waiting = WaitingCount(4)
        let reloads = (0..<4).map { _ in
            Task {
                defer { waiting.done() }
                try await KeaControlChannel(path: path).reloadConfiguration()
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        for _ in 0..<10 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(waiting.value == 4, "the pool's work waited for the silent socket")
        // Closing the listener resets the waiting connections: every reload fails, none hangs.
        close(listener)
        for reload in reloads { await #expect(throws: (any Error).self) { try await reload.value } }
    }
}

/// How many calls have not ended yet.
private final class WaitingCount: Sendable {
    private let count: Mutex<Int>
    init(_ count: Int) { self.count = Mutex(count) }
    func done() { count.withLock { $0 -= 1 } }
    var value: Int { count.withLock { $0 } }
}
