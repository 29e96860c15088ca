import Synchronization

/// A counting semaphore for async code: FIFO, and a cancelled waiter leaves the queue without taking a permit.
/// Used for "one command at a time per device" (one permit) and the global bound per protocol.
///
/// Deciding to wait and joining the queue happen in one critical section, so a `release()` can never slip in
/// between them and leave a permit that nobody takes while the waiter sleeps.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var permits: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiter: UInt64 = 0

        /// Takes a permit when one is free and nobody queued before us (FIFO).
        mutating func takeFreePermit() -> Bool {
            guard permits > 0, waiters.isEmpty else { return false }
            permits -= 1
            return true
        }
    }

    private enum Admission {
        case acquired, queued, cancelled
    }

    private let state: Mutex<State>

    public init(permits: Int) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        state = Mutex(State(permits: permits))
    }

    /// Waits for a permit. Throws `CancellationError` when the task is cancelled while waiting.
    public func acquire() async throws {
        let identifier = state.withLock { state -> UInt64? in
            if state.takeFreePermit() { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let identifier else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Decide again and queue in the same section: a release since the first look is seen here.
                let admission = state.withLock { state -> Admission in
                    if Task.isCancelled { return .cancelled }
                    if state.takeFreePermit() { return .acquired }
                    state.waiters.append((identifier, continuation))
                    return .queued
                }
                switch admission {
                case .acquired: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
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

    /// Permits free right now (diagnostics and tests).
    public var available: Int { state.withLock { $0.permits } }
}
