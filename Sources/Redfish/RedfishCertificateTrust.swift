import AgentCore
import Foundation
import GRDB

/// Where the first certificate each BMC presented is remembered (trust on first use), so that a later, different
/// certificate is refused instead of being handed the credentials.
public protocol RedfishCertificateTrust: Sendable {
    /// The fingerprint remembered for the BMC at `address` (`host:port`).
    func remembered(for address: String) async throws -> String?
    /// Remembers `fingerprint` for `address` unless one is remembered already.
    func remember(_ fingerprint: String, for address: String) async throws
}

/// First-seen certificates in the agent's state database, kept across restarts.
public struct RedfishCertificateStore: RedfishCertificateTrust {
    let database: AgentDatabase

    public init(database: AgentDatabase) {
        self.database = database
    }

    public static let migrations: [SchemaMigration] = [
        SchemaMigration("redfish.v1") { db in
            try db.create(table: "redfishCertificate") { table in
                table.column("address", .text).primaryKey()
                table.column("fingerprint", .text).notNull()
                table.column("firstSeenAt", .datetime).notNull()
            }
        },
    ]

    public func remembered(for address: String) async throws -> String? {
        try await database.writer.read { db in
            try String.fetchOne(db, sql: "SELECT fingerprint FROM redfishCertificate WHERE address = ?", arguments: [address])
        }
    }

    public func remember(_ fingerprint: String, for address: String) async throws {
        try await database.writer.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO redfishCertificate (address, fingerprint, firstSeenAt) VALUES (?, ?, ?)",
                arguments: [address, fingerprint, Date()])
        }
    }

    /// Forgets the remembered certificate (an operator accepted a replaced BMC certificate); true when there was one.
    @discardableResult
    public func forget(_ address: String) async throws -> Bool {
        try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM redfishCertificate WHERE address = ?", arguments: [address])
            return db.changesCount > 0
        }
    }
}
