import Logging
import Synchronization

/// Logs a message that a client can cause at will (a boot URL with an unknown token) at most once per interval per
/// kind, with the number of occurrences it held back, so a scanner or a broken client cannot flood the log.
public final class LogThrottle: Sendable {
    private struct Entry {
        var lastLogged: ContinuousClock.Instant
        var suppressed: Int
    }

    let interval: Duration
    private let entries = Mutex<[String: Entry]>([:])

    public init(interval: Duration = .seconds(60)) {
        self.interval = interval
    }

    /// Logs through `logger` unless `kind` was logged less than an interval ago; then the next line says how many
    /// were held back in between.
    public func log(_ logger: Logger, level: Logger.Level, kind: String, _ message: Logger.Message, metadata: Logger.Metadata = [:]) {
        let now = ContinuousClock.now
        let suppressed = entries.withLock { entries -> Int? in
            if var entry = entries[kind], now - entry.lastLogged < interval {
                entry.suppressed += 1
                entries[kind] = entry
                return nil
            }
            let held = entries[kind]?.suppressed ?? 0
            entries[kind] = Entry(lastLogged: now, suppressed: 0)
            // Forget kinds not seen for a long while (the table stays small whatever clients send).
            if entries.count > 256 { entries = entries.filter { now - $0.value.lastLogged < interval } }
            return held
        }
        guard let suppressed else { return }
        var combined = metadata
        if suppressed > 0 { combined["heldBack"] = "\(suppressed)" }
        logger.log(level: level, message, metadata: combined)
    }
}
