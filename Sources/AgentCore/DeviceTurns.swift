import Synchronization

/// Gives devices their turns, gently: one operation at a time per device key (`host:port`), a minimum gap between
/// two operations on the same device (bursts crash BMCs), and a bound on operations in flight across all devices.
/// IPMI and Redfish both take their turns here.
public final class DeviceTurns: Sendable {
    private let minimumGap: Duration
    private let globalLimit: AsyncSemaphore
    private let gates = Mutex<[String: DeviceGate]>([:])

    /// - Parameters:
    ///   - minimumGapSeconds: pause between the end of one operation on a device and the start of the next.
    ///   - maximumConcurrent: operations in flight across every device.
    public init(minimumGapSeconds: Double, maximumConcurrent: Int) {
        minimumGap = .seconds(max(minimumGapSeconds, 0))
        globalLimit = AsyncSemaphore(permits: max(maximumConcurrent, 1))
    }

    /// Runs `body` during the device's turn: after the device's previous operation finished, the minimum gap passed
    /// and a global permit is free. Waiting is cancellable.
    public func withTurn<Value: Sendable>(on device: String, _ body: () async throws -> Value) async throws -> Value {
        let gate = gates.withLock { gates in
            if let existing = gates[device] { return existing }
            let created = DeviceGate()
            gates[device] = created
            return created
        }
        try await gate.lock.acquire()
        defer {
            gate.finished()
            gate.lock.release()
        }
        if let last = gate.lastFinished {
            let ready = last + minimumGap
            if ready > ContinuousClock.now { try await Task.sleep(until: ready, clock: .continuous) }
        }
        return try await globalLimit.withPermit(body)
    }
}

/// One device's serialisation point and when its last operation ended.
private final class DeviceGate: Sendable {
    let lock = AsyncSemaphore(permits: 1)
    private let finishedAt = Mutex<ContinuousClock.Instant?>(nil)

    var lastFinished: ContinuousClock.Instant? { finishedAt.withLock { $0 } }

    func finished() {
        finishedAt.withLock { $0 = .now }
    }
}
