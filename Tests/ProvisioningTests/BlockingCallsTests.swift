import AgentCore
import Foundation
import PeerHarness
import Provisioning
import Testing

/// Calls that wait on the operating system (a socket, a file) run on the blocking pool, so the cooperative pool (two
/// threads on a 2-core machine) keeps running everything else meanwhile.
@Suite struct BlockingCallsTests {
    /// A Kea control socket that accepts and never answers (a hung kea-dhcp4): four reloads wait on it at once,
    /// and a timer on the cooperative pool still ticks on time.
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

        let reloads = (0..<4).map { _ in Task { try await KeaControlChannel(path: path).reloadConfiguration() } }
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        for _ in 0..<20 { try await Task.sleep(for: .milliseconds(25)) }
        let ticking = ContinuousClock.now - started
        #expect(ticking < .seconds(2), "twenty 25 ms sleeps took \(ticking) while Kea was silent")
        // Closing the listener resets the waiting connections: every reload fails, none hangs.
        close(listener)
        for reload in reloads { await #expect(throws: (any Error).self) { try await reload.value } }
    }
}
