import AgentCore
import ControllerAPI
import Foundation
import PeerHarness
import Testing

@Suite struct EmbeddedAgentTests {
    /// A listener that cannot bind (its port is taken) fails the start at once, naming the address and the reason,
    /// instead of a 15-second wait that ends in "did not start".
    @Test func aTakenPortFailsTheStartAtOnceNamingIt() async throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(holder >= 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(holder, $0, &length) } }
        #expect(listen(holder, 1) == 0)
        let taken = Int(UInt16(bigEndian: address.sin_port))

        let agent = try await TestAgent { $0.boot.listen = "127.0.0.1:\(taken)" }
        defer { agent.remove() }
        let started = ContinuousClock.now
        do {
            let embedded = try await EmbeddedAgent.start(runtime: agent.runtime)
            await embedded.stop()
            Issue.record("the agent started on a taken port")
        } catch {
            let message = AgentError.from(error).message
            #expect(message.contains("127.0.0.1:\(taken)") && message.contains("boot listener"), "\(message)")
        }
        // Alone this takes well under a second; the bound leaves room for a full parallel suite on two cores (seen at
        // 5 s) and still tells it from the old 15-second wait.
        #expect(ContinuousClock.now - started < .seconds(10), "the failure took \(ContinuousClock.now - started)")
    }
}
