import AgentCore
import Synchronization
import Testing

/// One operation at a time per device, the minimum gap between two on the same device, a global bound: under many
/// tasks with random cancellation, within a time bound.
struct DeviceTurnsTests {
    final class Ledger: Sendable {
        struct State {
            var inside: [String: Int] = [:]
            var total = 0
            var peakTotal = 0
            var overlaps = 0
            var lastEnd: [String: ContinuousClock.Instant] = [:]
            var shortestGap: Duration = .seconds(1000)
            var completed = 0
        }

        let state = Mutex(State())

        func enter(_ device: String) {
            state.withLock { state in
                if let end = state.lastEnd[device] { state.shortestGap = min(state.shortestGap, .now - end) }
                state.inside[device, default: 0] += 1
                if state.inside[device]! > 1 { state.overlaps += 1 }
                state.total += 1
                state.peakTotal = max(state.peakTotal, state.total)
            }
        }

        func leave(_ device: String) {
            state.withLock { state in
                state.inside[device, default: 1] -= 1
                state.total -= 1
                state.lastEnd[device] = .now
                state.completed += 1
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func turnsHoldUnderLoadAndCancellation() async throws {
        let turns = DeviceTurns(minimumGapSeconds: 0.005, maximumConcurrent: 3)
        let ledger = Ledger()
        let devices = (0..<6).map { "bmc-\($0)" }
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<400 {
                let device = devices[index % devices.count]
                let task = Task {
                    try await turns.withTurn(on: device) {
                        ledger.enter(device)
                        defer { ledger.leave(device) }
                        try await Task.sleep(for: .microseconds(Int.random(in: 50...400)))
                    }
                }
                group.addTask {
                    if Int.random(in: 0..<4) == 0 {
                        try? await Task.sleep(for: .microseconds(Int.random(in: 0...2000)))
                        task.cancel()
                    }
                    _ = await task.result
                }
            }
        }
        let state = ledger.state.withLock { $0 }
        #expect(state.overlaps == 0, "two operations ran on one device at once")
        #expect(state.peakTotal <= 3, "more than the global bound ran at once: \(state.peakTotal)")
        #expect(state.total == 0 && state.inside.values.allSatisfy { $0 == 0 })
        #expect(state.shortestGap >= .milliseconds(5), "the minimum gap was not kept: \(state.shortestGap)")
        #expect(state.completed > 0 && state.completed <= 400)
        // Well under a second alone; beside the whole suite on two cores it has taken 30 s. A stall hits the time limit.
        #expect(ContinuousClock.now - started < .seconds(50))
        // Nothing is left holding a turn: every device takes a new operation at once.
        for device in devices { try await turns.withTurn(on: device) {} }
    }
}
