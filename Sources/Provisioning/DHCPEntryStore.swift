import AgentCore
import Foundation
import GRDB

/// The Provisioning module's tables.
public enum ProvisioningSchema {
    public static let migrations: [SchemaMigration] = [
        SchemaMigration("provisioning.v1") { db in
            try db.create(table: "dhcpEntry") { table in
                table.column("mac", .text).primaryKey()
                table.column("document", .text).notNull()
                table.column("expiresAt", .datetime).indexed()
                table.column("updatedAt", .datetime).notNull()
            }
        },
    ]
}

/// DHCP entries as the controller registered them (and as installations add temporary ones).
public struct DHCPEntryStore: Sendable {
    let database: AgentDatabase

    public init(database: AgentDatabase) {
        self.database = database
    }

    public func all() async throws -> [DHCPEntry] {
        try await database.writer.read { db in try Self.all(db) }
    }

    public func get(_ mac: MACAddress) async throws -> DHCPEntry? {
        try await database.writer.read { db in
            try String.fetchOne(db, sql: "SELECT document FROM dhcpEntry WHERE mac = ?", arguments: [mac.description]).map(Self.decode)
        }
    }

    /// Stores many entries in one transaction without regenerating (bulk loads; call DHCPService.regenerate after).
    public func importEntries(_ entries: [DHCPEntry]) async throws {
        try await database.writer.write { db in
            for entry in entries { try Self.put(entry, in: db) }
        }
    }

    static func all(_ db: Database) throws -> [DHCPEntry] {
        try String.fetchAll(db, sql: "SELECT document FROM dhcpEntry ORDER BY mac").map(decode)
    }

    static func put(_ entry: DHCPEntry, in db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO dhcpEntry (mac, document, expiresAt, updatedAt) VALUES (?, ?, ?, ?)",
            arguments: [entry.mac.description, try document(entry), entry.expiresAt, Date()])
    }

    static func delete(_ mac: MACAddress, in db: Database) throws -> Bool {
        try db.execute(sql: "DELETE FROM dhcpEntry WHERE mac = ?", arguments: [mac.description])
        return db.changesCount > 0
    }

    /// Temporary entries whose time is up.
    static func expired(_ db: Database, now: Date) throws -> [DHCPEntry] {
        try String.fetchAll(db, sql: "SELECT document FROM dhcpEntry WHERE expiresAt IS NOT NULL AND expiresAt <= ?", arguments: [now]).map(decode)
    }

    struct Stored: Codable {
        var mac: MACAddress
        var serverId: String?
        var hostname: String
        var ipv4: DHCPEntry.Address?
        var ipv6: DHCPEntry.Address?
        var dns: [String]
        var permanent: Bool
        var keepMinutes: Int?
        var pxe: Bool
        var bootFiles: DHCPEntry.BootFiles
        var expiresAt: Date?
    }

    static func document(_ entry: DHCPEntry) throws -> String {
        let stored = Stored(
            mac: entry.mac, serverId: entry.serverId, hostname: entry.hostname, ipv4: entry.ipv4, ipv6: entry.ipv6, dns: entry.dns,
            permanent: entry.permanent, keepMinutes: entry.keepMinutes, pxe: entry.pxe, bootFiles: entry.bootFiles, expiresAt: entry.expiresAt)
        return String(decoding: try JSONCoding.encoder.encode(stored), as: UTF8.self)
    }

    /// A stored entry; one that cannot be read is an error, never left out (the configuration would silently lose a
    /// machine's address).
    static func decode(_ text: String) throws -> DHCPEntry {
        let stored: Stored
        do {
            stored = try JSONCoding.decoder.decode(Stored.self, from: Data(text.utf8))
        } catch {
            throw AgentError.internalError("a stored DHCP entry cannot be read (\(error)): \(text.prefix(120))")
        }
        return DHCPEntry(
            mac: stored.mac, serverId: stored.serverId, hostname: stored.hostname, ipv4: stored.ipv4, ipv6: stored.ipv6, dns: stored.dns,
            permanent: stored.permanent, keepMinutes: stored.keepMinutes, pxe: stored.pxe, bootFiles: stored.bootFiles, expiresAt: stored.expiresAt)
    }
}
