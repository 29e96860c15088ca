/// Runs `body` and throws `timeoutError()` when it has not finished within `duration`; `body` is cancelled then.
public func withDeadline<Value: Sendable>(
    _ duration: Duration, timeoutError: @escaping @Sendable () -> any Error, _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    try await withThrowingTaskGroup(of: Value?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: duration)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw timeoutError() }
        return value
    }
}
