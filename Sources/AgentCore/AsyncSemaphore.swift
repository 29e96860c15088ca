import Synchronization

/// A counting semaphore for async code: FIFO, and a cancelled waiter leaves the queue without taking a permit.
/// Used for "one command at a time per device" (one permit) and the global bound per protocol.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var permits: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(permits: Int) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        state = Mutex(State(permits: permits))
    }

    /// Waits for a permit. Throws `CancellationError` when the task is cancelled while waiting.
    public func acquire() async throws {
        let identifier = state.withLock { state -> UInt64? in
            if state.permits > 0, state.waiters.isEmpty {
                state.permits -= 1
                return nil
            }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let identifier else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelledAlready = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiters.append((identifier, continuation))
                    return false
                }
                if cancelledAlready { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == identifier }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Returns a permit, handing it straight to the longest waiter if there is one.
    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.waiters.isEmpty {
                state.permits += 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }

    /// Runs `body` holding a permit.
    public func withPermit<Value: Sendable>(_ body: () async throws -> Value) async throws -> Value {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Waiters queued right now (diagnostics).
    public var waiting: Int { state.withLock { $0.waiters.count } }
}
