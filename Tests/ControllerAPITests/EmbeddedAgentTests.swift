import AgentCore
import ControllerAPI
import Foundation
import PeerHarness
import Testing

@Suite struct EmbeddedAgentTests {
    /// A listener that cannot bind (its port is taken) fails the start at once, naming the address and the reason,
    /// instead of a 15-second wait that ends in "did not start".
    @Test func aTakenPortFailsTheStartAtOnceNamingIt() async throws {
        let holder = try TCPPortHolder()
        defer { holder.close() }
        let taken = holder.port

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
        // 5 s, and at 10.3 and 12.7 s in its busiest first minute) and still tells it from the old 15-second wait.
        #expect(ContinuousClock.now - started < .seconds(14), "the failure took \(ContinuousClock.now - started)")
    }
}
