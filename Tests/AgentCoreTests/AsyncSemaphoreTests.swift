import AgentCore
import Synchronization
import Testing


/// Counts how many holders a semaphore has at once.
private final class HolderCount: Sendable {
    private let state = Mutex((current: 0, maximum: 0, entries: 0))

    func enter() {
        state.withLock { state in
            state.current += 1
            state.entries += 1
            state.maximum = max(state.maximum, state.current)
        }
    }

    func leave() { state.withLock { $0.current -= 1 } }
    var maximum: Int { state.withLock { $0.maximum } }
    var entries: Int { state.withLock { $0.entries } }
}

/// Waits for every task, at most `limit`; on expiry cancels them (which wakes any waiter) and answers false.
private func allEnd(_ tasks: [Task<Void, Never>], within limit: Duration) async -> Bool {
    let ended = await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            for task in tasks { await task.value }
            return true
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = await group.next() ?? false
        if !first { for task in tasks { task.cancel() } }
        group.cancelAll()
        return first
    }
    return ended
}

@Suite struct AsyncSemaphoreTests {
    /// Thousands of acquire/release pairs from many tasks, a third of them cancelled at random moments: every
    /// task ends within the bound, the permit count never exceeds its limit and every permit comes back.
    @Test(arguments: [1, 3]) func stressWithRandomCancellationEndsInTime(permits: Int) async throws {
        let semaphore = AsyncSemaphore(permits: permits)
        let holders = HolderCount()
        let tasks = (0..<400).map { _ in
            Task {
                for _ in 0..<50 {
                    do {
                        try await semaphore.acquire()
                    } catch {
                        return
                    }
                    holders.enter()
                    if Bool.random() { await Task.yield() }
                    holders.leave()
                    semaphore.release()
                }
            }
        }
        // Cancel a third of them at random moments while the others run.
        for victim in tasks.shuffled().prefix(tasks.count / 3) {
            try await Task.sleep(for: .microseconds(Int.random(in: 0..<500)))
            victim.cancel()
        }
        let ended = await allEnd(tasks, within: .seconds(60))
        #expect(ended, "a waiter never woke up: acquire/release lost a permit")
        #expect(holders.maximum <= permits)
        #expect(semaphore.available == permits)
        #expect(semaphore.waiting == 0)
        #expect(holders.entries > 1000)
    }

    /// A release that lands while a waiter is on its way into the queue is never lost: one permit, two
    /// alternating tasks, many rounds. A lost wake-up stops the rounds for good; a loaded machine only slows them, so
    /// the test fails when no round completes for 10 s (bounded at 180 s in all), not on a total time.
    @Test func handOverBetweenTwoTasksNeverStalls() async throws {
        final class Rounds: Sendable {
            let completed = Atomic<Int>(0)
            let finishedTasks = Atomic<Int>(0)
        }
        let semaphore = AsyncSemaphore(permits: 1)
        let rounds = Rounds()
        let tasks = (0..<2).map { _ in
            Task {
                defer { rounds.finishedTasks.add(1, ordering: .relaxed) }
                for _ in 0..<20_000 {
                    guard (try? await semaphore.acquire()) != nil else { return }
                    semaphore.release()
                    rounds.completed.add(1, ordering: .relaxed)
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(180)
        var seen = -1
        var lastProgress = ContinuousClock.now
        var stalled = false
        while rounds.finishedTasks.load(ordering: .relaxed) < tasks.count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            let now = rounds.completed.load(ordering: .relaxed)
            if now != seen {
                seen = now
                lastProgress = ContinuousClock.now
            } else if ContinuousClock.now - lastProgress > .seconds(10) {
                stalled = true
                break
            }
        }
        for task in tasks { task.cancel() }
        #expect(!stalled, "a waiter slept while the permit was free: no round for 10 s after \(seen) rounds")
        #expect(rounds.finishedTasks.load(ordering: .relaxed) == tasks.count || stalled, "not done within 180 s")
        _ = await allEnd(tasks, within: .seconds(10))
        #expect(semaphore.available == 1)
    }

    /// A cancelled waiter leaves the queue without taking a permit; the next waiter gets it.
    @Test func cancelledWaiterLeavesTheQueue() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let cancelled = Task { try await semaphore.acquire() }
        let second = Task { try await semaphore.acquire() }
        for _ in 0..<200 where semaphore.waiting < 2 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(semaphore.waiting == 2)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(semaphore.waiting == 1)
        semaphore.release()
        try await second.value
        #expect(semaphore.available == 0)
        semaphore.release()
        #expect(semaphore.available == 1)
    }
}
