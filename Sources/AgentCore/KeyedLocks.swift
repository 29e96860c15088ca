import Synchronization

/// One async lock per key: a cache directory prepared or cleared by one task at a time, one BMC's accounts changed by
/// one task at a time. Waiting is cancellable.
public final class KeyedLocks: Sendable {
    private let state = Mutex<[String: AsyncSemaphore]>([:])

    public init() {}

    public func withLock<T: Sendable>(_ key: String, _ body: () async throws -> T) async throws -> T {
        let semaphore = state.withLock { locks in
            if let existing = locks[key] { return existing }
            let created = AsyncSemaphore(permits: 1)
            locks[key] = created
            return created
        }
        return try await semaphore.withPermit { try await body() }
    }
}
