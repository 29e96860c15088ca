import AgentCore
import Foundation
import GRDB
import Logging
import Synchronization

/// What the boot listener needs to answer most MACs without a database read: each DHCP entry's PXE flag and expiry,
/// and which MACs have a running installation.
///
/// The index is loaded once and kept exact by an observer of the agent's own database connection: every committed
/// change to `dhcpEntry` or `installation` reloads the table it touched before the write returns, so an answer never
/// lags a change the agent made. A table that cannot be reloaded sends every lookup to the database until it can.
/// The agent owns its state database; a change written by another process is not seen.
public final class BootIndex: Sendable {
    /// What the index knows of one MAC.
    public enum Lookup: Sendable, Equatable {
        /// No DHCP entry.
        case unknown
        /// A DHCP entry and no running installation.
        case entry(pxe: Bool, expiresAt: Date?)
        /// A running installation (its script is in the database), or an entry or table the index could not read.
        case askDatabase
    }

    private let observer: Observer

    private init(observer: Observer) {
        self.observer = observer
    }

    /// Loads the index and starts observing `database` for as long as it is open.
    public static func open(database: AgentDatabase, logger: Logger) async throws -> BootIndex {
        let observer = Observer(logger: logger)
        try await database.writer.writeWithoutTransaction { db in
            // Loaded and registered in one write access, so no commit falls between the two.
            try observer.reload([.entries, .installations], in: db)
            db.add(transactionObserver: observer, extent: .databaseLifetime)
        }
        return BootIndex(observer: observer)
    }

    public func lookup(_ mac: MACAddress) -> Lookup {
        observer.contents.withLock { contents in
            guard let entries = contents.entries, let installing = contents.installing, !installing.contains(mac) else { return .askDatabase }
            guard let facts = entries[mac] else { return .unknown }
            guard let pxe = facts.pxe else { return .askDatabase }
            return .entry(pxe: pxe, expiresAt: facts.expiresAt)
        }
    }

    /// The two tables the index reads.
    enum Table: String, CaseIterable {
        case entries = "dhcpEntry"
        case installations = "installation"
    }

    /// One DHCP entry's boot facts; `pxe` nil when its stored document cannot be read (the database path names the error).
    struct Facts {
        var pxe: Bool?
        var expiresAt: Date?
    }

    /// The loaded tables; nil while a table cannot be read.
    struct Contents {
        var entries: [MACAddress: Facts]?
        var installing: Set<MACAddress>?
    }

    /// Notes which observed tables a transaction changed and reloads them once it is committed.
    final class Observer: TransactionObserver, Sendable {
        let contents = Mutex(Contents())
        private let changed = Mutex(Set<Table>())
        private let logger: Logger

        init(logger: Logger) {
            self.logger = logger
        }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
            Table(rawValue: eventKind.tableName) != nil
        }

        func databaseDidChange(with event: DatabaseEvent) {
            guard let table = Table(rawValue: event.tableName) else { return }
            let both = changed.withLock { changed in
                changed.insert(table)
                return changed.count == Table.allCases.count
            }
            if both { stopObservingDatabaseChangesUntilNextTransaction() }
        }

        /// Changes SQLite could not describe (see `Database.notifyChanges(in:)`): reload both.
        func databaseDidChange() {
            changed.withLock { $0 = Set(Table.allCases) }
        }

        func databaseDidCommit(_ db: Database) {
            let tables = changed.withLock { changed in
                defer { changed = [] }
                return changed
            }
            guard !tables.isEmpty else { return }
            do {
                try reload(tables, in: db)
            } catch {
                contents.withLock { contents in
                    if tables.contains(.entries) { contents.entries = nil }
                    if tables.contains(.installations) { contents.installing = nil }
                }
                logger.error(
                    "the boot index cannot be reloaded; boot requests read the database until it can",
                    metadata: ["tables": "\(tables.map(\.rawValue).sorted())", "error": "\(error)"])
            }
        }

        func databaseDidRollback(_ db: Database) {
            changed.withLock { $0 = [] }
        }

        /// Reads `tables` afresh. The two facts come from the stored document, as the database path reads them; an
        /// entry whose document is not JSON, has no boolean `pxe` or an expiry that is not a date is kept as
        /// unreadable rather than guessed at.
        func reload(_ tables: Set<Table>, in db: Database) throws {
            var entries: [MACAddress: Facts]?
            if tables.contains(.entries) {
                var loaded: [MACAddress: Facts] = [:]
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT mac, json_type(document, '$.pxe') AS pxe, json_type(document, '$.expiresAt') AS expiryType,
                            json_extract(document, '$.expiresAt') AS expiresAt
                        FROM dhcpEntry WHERE json_valid(document)
                        UNION ALL SELECT mac, NULL, NULL, NULL FROM dhcpEntry WHERE NOT json_valid(document)
                        """)
                let dates = ISO8601DateFormatter()
                while let row = try rows.next() {
                    guard let text = String.fromDatabaseValue(row["mac"]), let mac = MACAddress(text) else { continue }
                    let pxe: Bool? = switch String.fromDatabaseValue(row["pxe"]) {
                    case "true": true
                    case "false": false
                    default: nil
                    }
                    switch String.fromDatabaseValue(row["expiryType"]) {
                    case nil, "null":
                        loaded[mac] = Facts(pxe: pxe, expiresAt: nil)
                    case "text":
                        let expiresAt = String.fromDatabaseValue(row["expiresAt"]).flatMap(dates.date(from:))
                        loaded[mac] = expiresAt == nil ? Facts(pxe: nil) : Facts(pxe: pxe, expiresAt: expiresAt)
                    default:
                        loaded[mac] = Facts(pxe: nil)
                    }
                }
                entries = loaded
            }
            var installing: Set<MACAddress>?
            if tables.contains(.installations) {
                installing = Set(
                    try String.fetchAll(db, sql: "SELECT mac FROM installation WHERE state = 'running' AND mac IS NOT NULL").compactMap(MACAddress.init))
            }
            contents.withLock { contents in
                if let entries { contents.entries = entries }
                if let installing { contents.installing = installing }
            }
        }
    }
}
