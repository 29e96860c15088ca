import AgentCore
import Foundation
import GRDB

/// Host keys seen first (trust on first use) and configuration snapshots, in the state database.
public struct SwitchStore: Sendable {
    let database: AgentDatabase

    public init(database: AgentDatabase) {
        self.database = database
    }

    public static let migrations: [SchemaMigration] = [
        SchemaMigration("switchssh.v1") { db in
            try db.create(table: "switchHostKey") { table in
                table.column("deviceId", .text).primaryKey()
                table.column("endpoint", .text).notNull()
                table.column("fingerprint", .text).notNull()
                table.column("firstSeenAt", .datetime).notNull()
            }
            try db.create(table: "switchConfigSnapshot") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("deviceId", .text).notNull().indexed()
                table.column("jobId", .text)
                table.column("vendor", .text).notNull()
                table.column("takenAt", .datetime).notNull()
                table.column("content", .text).notNull()
            }
        },
    ]

    /// The fingerprint recorded for a device, with the endpoint it was seen at.
    public func hostKey(_ deviceId: String) async throws -> (fingerprint: String, endpoint: String, firstSeenAt: Date)? {
        try await database.writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT fingerprint, endpoint, firstSeenAt FROM switchHostKey WHERE deviceId = ?", arguments: [deviceId]) else {
                return nil
            }
            return (row["fingerprint"], row["endpoint"], row["firstSeenAt"])
        }
    }

    public func recordHostKey(_ deviceId: String, endpoint: String, fingerprint: String) async throws {
        try await database.writer.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO switchHostKey (deviceId, endpoint, fingerprint, firstSeenAt) VALUES (?, ?, ?, ?)",
                arguments: [deviceId, endpoint, fingerprint, Date()])
        }
    }

    /// Forgets the recorded key (an operator accepted a replaced switch); true when there was one.
    @discardableResult
    public func forgetHostKey(_ deviceId: String) async throws -> Bool {
        try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM switchHostKey WHERE deviceId = ?", arguments: [deviceId])
            return db.changesCount > 0
        }
    }

    public func saveSnapshot(deviceId: String, jobId: String?, vendor: String, content: String) async throws -> Int64 {
        try await database.writer.write { db in
            try db.execute(
                sql: "INSERT INTO switchConfigSnapshot (deviceId, jobId, vendor, takenAt, content) VALUES (?, ?, ?, ?, ?)",
                arguments: [deviceId, jobId, vendor, Date(), content])
            return db.lastInsertedRowID
        }
    }

    /// Newest first; `content` only when asked for one snapshot.
    public func snapshots(deviceId: String, limit: Int = 100) async throws -> [JSONValue] {
        try await database.writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, jobId, vendor, takenAt, length(content) AS bytes FROM switchConfigSnapshot WHERE deviceId = ? ORDER BY id DESC LIMIT ?",
                arguments: [deviceId, limit]
            ).map { row in
                let id: Int64 = row["id"]
                let jobId: String? = row["jobId"]
                let vendor: String = row["vendor"]
                let takenAt: Date = row["takenAt"]
                let bytes: Int64 = row["bytes"]
                return ["id": .integer(id), "jobId": jobId.map(JSONValue.string) ?? .null, "vendor": .string(vendor),
                        "takenAt": .string(UTCTime.iso8601(takenAt)), "bytes": .integer(bytes)]
            }
        }
    }

    /// One snapshot, its content passed through `redactor` (snapshots are stored masked; this also masks what
    /// rules added since would have).
    public func snapshot(deviceId: String, id: Int64, redactor: SwitchTextRedactor) async throws -> JSONValue? {
        try await database.writer.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT id, jobId, vendor, takenAt, content FROM switchConfigSnapshot WHERE deviceId = ? AND id = ?", arguments: [deviceId, id])
            else { return nil }
            let jobId: String? = row["jobId"]
            let vendor: String = row["vendor"]
            let takenAt: Date = row["takenAt"]
            let content: String = row["content"]
            return ["id": .integer(id), "jobId": jobId.map(JSONValue.string) ?? .null, "vendor": .string(vendor),
                    "takenAt": .string(UTCTime.iso8601(takenAt)), "content": .string(redactor.redact(content))]
        }
    }
}
