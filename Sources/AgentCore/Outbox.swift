import Foundation
import GRDB
import Logging
import Metrics

/// One event for the controller: job finished, installation progress, bandwidth samples, ...
/// `id` is unique; the controller dedupes by it (delivery is at-least-once).
public struct OutboxEvent: Codable, Sendable, Equatable {
    public var id: String
    public var type: String
    public var time: Date
    public var data: JSONValue

    public init(id: String = UUID().uuidString.lowercased(), type: String, time: Date = Date(), data: JSONValue) {
        self.id = id
        self.type = type
        self.time = time
        self.data = data
    }
}

/// A stored event with its position in the queue; `data` is kept as JSON text.
struct QueuedEvent: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "outboxEvent"
    var sequence: Int64?
    var id: String
    var type: String
    var time: Date
    var data: String

    init(_ event: OutboxEvent) {
        id = event.id
        type = event.type
        time = event.time
        data = event.data.jsonText
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        sequence = inserted.rowID
    }

    var event: OutboxEvent {
        let payload = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(data.utf8))) ?? .null
        return OutboxEvent(id: id, type: type, time: time, data: payload)
    }
}

/// The durable queue of events for the controller.
///
/// An event is appended inside the same transaction as the state change that caused it, so either both
/// commit or neither does. The queue is bounded: when `maximumEvents` is reached the oldest events are
/// dropped, counted in `rackagent_outbox_dropped_total` and logged at error level.
public final class Outbox: Sendable {
    let database: AgentDatabase
    let maximumEvents: Int
    let logger: Logger
    /// Rung when an append commits, so the delivery loop sends without waiting for its next round.
    let doorbell = Doorbell()
    private let droppedCounter = Counter(label: "rackagent_outbox_dropped_total")
    private let appendedCounter = Counter(label: "rackagent_outbox_appended_total")
    private let pendingGauge = Gauge(label: "rackagent_outbox_pending")
    private let oldestAgeGauge = Gauge(label: "rackagent_outbox_oldest_pending_age_seconds")

    public init(database: AgentDatabase, maximumEvents: Int, logger: Logger) {
        self.database = database
        self.maximumEvents = maximumEvents
        self.logger = logger
    }

    /// Appends within the caller's transaction; the delivery loop wakes when it commits.
    public func append(_ event: OutboxEvent, in db: Database) throws {
        // The sequence span bounds the count from above and costs two index lookups; count exactly only
        // when the span says the queue may be full.
        let (oldest, newest) = try Self.bounds(db)
        if let oldest, let newest, newest - oldest + 1 >= Int64(maximumEvents),
            case let waiting = try QueuedEvent.fetchCount(db), waiting >= maximumEvents
        {
            let excess = waiting - maximumEvents + 1
            try db.execute(
                sql: "DELETE FROM outboxEvent WHERE sequence IN (SELECT sequence FROM outboxEvent ORDER BY sequence LIMIT ?)",
                arguments: [excess])
            let dropped = db.changesCount
            droppedCounter.increment(by: dropped)
            logger.error(
                "outbox full: dropped the oldest events; is the controller reachable?",
                metadata: ["dropped": "\(dropped)", "limit": "\(maximumEvents)"])
        }
        var row = QueuedEvent(event)
        try row.insert(db)
        appendedCounter.increment()
        let doorbell = self.doorbell
        db.afterNextTransaction { _ in doorbell.ring() }
    }

    /// Appends in a transaction of its own.
    public func append(_ event: OutboxEvent) async throws {
        try await database.writer.write { db in try self.append(event, in: db) }
    }

    /// The oldest `limit` events, in order.
    func oldest(limit: Int) async throws -> [QueuedEvent] {
        try await database.writer.read { db in
            try QueuedEvent.order(Column("sequence")).limit(limit).fetchAll(db)
        }
    }

    /// Removes delivered events by id.
    func remove(ids: [String]) async throws {
        _ = try await database.writer.write { db in
            try QueuedEvent.filter(ids.contains(Column("id"))).deleteAll(db)
        }
    }

    /// Number of events waiting.
    public func count() async throws -> Int {
        try await database.writer.read { db in try QueuedEvent.fetchCount(db) }
    }

    /// How many events wait and how old the oldest is (seconds; 0 when none wait).
    public func backlog(now: Date = Date()) async throws -> (pending: Int, oldestAgeSeconds: Double) {
        try await database.writer.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), MIN(time) FROM outboxEvent")
            let pending: Int = row?[0] ?? 0
            let oldest: Date? = row?[1]
            return (pending, oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        }
    }

    /// Records `rackagent_outbox_pending` and `rackagent_outbox_oldest_pending_age_seconds` from the database, so
    /// they are true whenever read: during a controller outage they grow, and an alert on them fires. Called before
    /// every metrics scrape and after every delivery attempt.
    public func recordBacklogMetrics() async {
        do {
            let (pending, age) = try await backlog()
            pendingGauge.record(pending)
            oldestAgeGauge.record(age)
        } catch {
            logger.error("cannot read the outbox backlog", metadata: ["error": "\(error)"])
        }
    }

    /// All waiting events, oldest first (diagnostics and tests).
    public func pendingEvents(limit: Int = 1000) async throws -> [OutboxEvent] {
        try await oldest(limit: limit).map(\.event)
    }

    private static func bounds(_ db: Database) throws -> (Int64?, Int64?) {
        let row = try Row.fetchOne(db, sql: "SELECT MIN(sequence), MAX(sequence) FROM outboxEvent")
        return (row?[0], row?[1])
    }
}
