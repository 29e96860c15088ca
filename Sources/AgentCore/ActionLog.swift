import Foundation
import GRDB

/// One row of the agent's action log, shaped like the seed's activity-log rows.
public struct ActionLogEntry: Sendable, Equatable {
    public enum Level: String, Codable, Sendable {
        case info, warning, error
    }

    public var id: Int64?
    /// What kind of object the action concerned: `serverPower`, `agents`, `snmp_switch`, `servers` ...
    public var rootType: String
    public var rootId: String
    public var description: String
    public var loglevel: Level
    /// The seed's `{"href": ..., "text": ...}` plus anything the module wants to keep (always redacted).
    public var meta: JSONValue
    public var createdAt: Date
    /// The seed's relationType / relationId: a second object the action concerned (the server a port was assigned to).
    public var relationType: String?
    public var relationId: String?
    /// The API request that caused the entry (the seed's endpoint, method and requestSource); nil for the agent's
    /// own background work. Taken from ``RequestOrigin/current`` when the entry is made.
    public var origin: RequestOrigin?

    public init(
        rootType: String, rootId: String, description: String, loglevel: Level = .info, meta: JSONValue = [:], createdAt: Date = Date(),
        relationType: String? = nil, relationId: String? = nil, origin: RequestOrigin? = RequestOrigin.current
    ) {
        self.rootType = rootType
        self.rootId = rootId
        self.description = description
        self.loglevel = loglevel
        self.meta = meta
        self.createdAt = createdAt
        self.relationType = relationType
        self.relationId = relationId
        self.origin = origin
    }
}

/// The controller request an action was made for: the seed's activity-log `endpoint`, `method` and `requestSource`.
public struct RequestOrigin: Sendable, Equatable {
    public var endpoint: String
    public var method: String

    public init(endpoint: String, method: String) {
        self.endpoint = endpoint
        self.method = method
    }

    /// Set by the API listener for the handling of each request, and inherited by the jobs it starts.
    @TaskLocal public static var current: RequestOrigin?
}

/// The action log's columns for relations and request origins (the seed's activity-log fields).
enum ActionLogSchema {
    static let migration = SchemaMigration("core.actionlog.v2") { db in
        try db.alter(table: "actionLog") { table in
            table.add(column: "relationType", .text)
            table.add(column: "relationId", .text)
            table.add(column: "endpoint", .text)
            table.add(column: "method", .text)
        }
    }
}

extension ActionLogEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "actionLog"

    /// `meta` is stored as JSON text.
    public init(row: Row) throws {
        id = row["id"]
        rootType = row["rootType"]
        rootId = row["rootId"]
        description = row["description"]
        loglevel = Level(rawValue: row["loglevel"]) ?? .info
        let metaText: String = row["meta"]
        meta = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(metaText.utf8))) ?? [:]
        createdAt = row["createdAt"]
        relationType = row["relationType"]
        relationId = row["relationId"]
        let endpoint: String? = row["endpoint"]
        let method: String? = row["method"]
        origin = endpoint.map { RequestOrigin(endpoint: $0, method: method ?? "") }
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["rootType"] = rootType
        container["rootId"] = rootId
        container["description"] = description
        container["loglevel"] = loglevel.rawValue
        container["meta"] = meta.jsonText
        container["createdAt"] = createdAt
        container["relationType"] = relationType
        container["relationId"] = relationId
        container["endpoint"] = origin?.endpoint
        container["method"] = origin?.method
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// The seed's activity-log JSON form of an entry.
public struct ActionLogRow: Encodable, Sendable {
    let entry: ActionLogEntry

    public init(_ entry: ActionLogEntry) {
        self.entry = entry
    }

    enum CodingKeys: String, CodingKey {
        case id, userId, relationId, relationType, rootId, rootType, description, modelchanges, loglevel, postdata, created_at, updated_at
        case endpoint, method, requestSource, meta, visibleFor, userIp
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entry.id, forKey: .id)
        try container.encode("system", forKey: .userId)
        try container.encode(entry.rootId, forKey: .rootId)
        try container.encode(entry.rootType, forKey: .rootType)
        try container.encode(entry.relationId ?? "", forKey: .relationId)
        try container.encode(entry.relationType ?? "", forKey: .relationType)
        try container.encode(entry.description, forKey: .description)
        // The agent keeps no model diffs or request bodies (bodies can hold secrets): the seed's empty forms.
        try container.encode([String](), forKey: .modelchanges)
        try container.encode("", forKey: .postdata)
        // The controller's API is the agent's only web source; the agent's own work (polls, timers) is "system".
        try container.encode(entry.origin?.endpoint ?? "", forKey: .endpoint)
        try container.encode(entry.origin?.method ?? "", forKey: .method)
        try container.encode(entry.origin == nil ? "system" : "api", forKey: .requestSource)
        try container.encode(entry.loglevel, forKey: .loglevel)
        let timestamp = ActionLogRow.timestampFormat(entry.createdAt)
        try container.encode(timestamp, forKey: .created_at)
        try container.encode(timestamp, forKey: .updated_at)
        try container.encode("admin", forKey: .visibleFor)
        try container.encode("-", forKey: .userIp)
        var meta = entry.meta
        if case .object(var members) = meta {
            members["href"] = members["href"] ?? ""
            members["text"] = members["text"] ?? ""
            meta = .object(members)
        }
        try container.encode(meta, forKey: .meta)
    }

    /// `2022-10-21T16:56:19.000000Z`, the seed's timestamp form.
    static func timestampFormat(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = Int64(seconds.rounded(.down))
        let micro = Int(((seconds - seconds.rounded(.down)) * 1_000_000).rounded(.down))
        return UTCTime.seedTimestamp(whole).replacingOccurrences(of: " ", with: "T") + "." + String(format: "%06d", micro) + "Z"
    }
}

/// Appends to and reads the action log.
public struct ActionLog: Sendable {
    let database: AgentDatabase
    let redactor: Redactor

    public init(database: AgentDatabase, redactor: Redactor = Redactor()) {
        self.database = database
        self.redactor = redactor
    }

    /// Appends inside the caller's transaction so the row commits with the change it describes.
    public func append(_ entry: ActionLogEntry, in db: Database) throws {
        var row = entry
        row.description = redactor.redact(entry.description)
        if case .object = entry.meta, let redacted = try? JSONCoding.decoder.decode(
            JSONValue.self, from: Data(redactor.redact(entry.meta.jsonText).utf8))
        {
            row.meta = redacted
        }
        try row.insert(db)
    }

    public func append(_ entry: ActionLogEntry) async throws {
        try await database.writer.write { db in try self.append(entry, in: db) }
    }

    /// Newest first.
    public func recent(limit: Int, rootType: String? = nil, rootId: String? = nil) async throws -> [ActionLogEntry] {
        try await database.writer.read { db in
            var request = ActionLogEntry.all()
            if let rootType { request = request.filter(Column("rootType") == rootType) }
            if let rootId { request = request.filter(Column("rootId") == rootId) }
            return try request.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    /// Deletes rows older than `date`.
    public func prune(olderThan date: Date) async throws -> Int {
        try await database.writer.write { db in
            try ActionLogEntry.filter(Column("createdAt") < date).deleteAll(db)
        }
    }
}
