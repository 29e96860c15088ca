import AgentCore
import Foundation
import GRDB
import Logging
import Synchronization

/// What the boot listener needs to answer most MACs without a database read: each DHCP entry's PXE flag and expiry,
/// and which MACs have a running installation.
///
/// The index is loaded once and kept exact by an observer of the agent's own database connection: inside every
/// committing write, the `dhcpEntry` rows it touched are read again (decoded as the database path decodes them) and
/// the running installations are listed again, so an answer never lags a change the agent made. What cannot be read
/// is answered from the database; a reload that fails sends every lookup there until a later commit reloads all.
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
            try observer.reloadEverything(db)
            db.add(transactionObserver: observer, extent: .databaseLifetime)
        }
        return BootIndex(observer: observer)
    }

    /// What the index knows of `mac` now.
    public func lookup(_ mac: MACAddress) -> Lookup {
        observer.state.withLock { state in
            guard let contents = state.contents, !contents.installing.contains(mac) else { return .askDatabase }
            guard let facts = contents.entries[mac] else { return .unknown }
            guard let pxe = facts.pxe else { return .askDatabase }
            return .entry(pxe: pxe, expiresAt: facts.expiresAt)
        }
    }

    /// One DHCP entry's boot facts; `pxe` nil when its stored document cannot be decoded (the database path names the
    /// error).
    struct Facts {
        var pxe: Bool?
        var expiresAt: Date?

        init(document: String) {
            if let entry = try? DHCPEntryStore.decode(document) {
                pxe = entry.pxe
                expiresAt = entry.expiresAt
            }
        }
    }

    /// The loaded tables, and the rowid of each entry's row (a deleted row is reported by rowid only).
    struct Contents {
        var entries: [MACAddress: Facts] = [:]
        var rowIDs: [MACAddress: Int64] = [:]
        var macs: [Int64: MACAddress] = [:]
        var installing: Set<MACAddress> = []

        /// Forgets the entry in row `rowID`, unless its MAC has moved to another row since.
        mutating func forget(rowID: Int64) {
            guard let mac = macs.removeValue(forKey: rowID), rowIDs[mac] == rowID else { return }
            rowIDs[mac] = nil
            entries[mac] = nil
        }

        mutating func put(_ row: ReadRow) {
            forget(rowID: row.rowID)
            guard let mac = row.mac, let facts = row.facts else { return }
            if let previous = rowIDs[mac] { macs[previous] = nil }
            rowIDs[mac] = row.rowID
            macs[row.rowID] = mac
            entries[mac] = facts
        }
    }

    /// One `dhcpEntry` row as read again, decoded before the index is locked; `mac` nil for a row the database path
    /// cannot find (its MAC text is not the canonical form it looks up), `facts` nil for a row that is gone.
    struct ReadRow {
        let rowID: Int64
        let mac: MACAddress?
        let facts: Facts?

        init(rowID: Int64, macText: String?, document: String?) {
            self.rowID = rowID
            guard let macText, let document else {
                mac = nil
                facts = nil
                return
            }
            // The database path finds a row by the MAC's canonical text only.
            mac = MACAddress(macText).flatMap { $0.description == macText ? $0 : nil }
            facts = Facts(document: document)
        }
    }

    /// The observer's whole state: the contents (nil while they could not be read) and what the open transaction
    /// changed.
    struct State {
        var contents: Contents?
        var changedRows: Set<Int64> = []
        var deletedRows: Set<Int64> = []
        var installationsChanged = false
    }

    /// Notes what a transaction changed and reads it again once the transaction is committed.
    final class Observer: TransactionObserver, Sendable {
        let state = Mutex(State())
        private let logger: Logger

        init(logger: Logger) {
            self.logger = logger
        }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
            eventKind.tableName == "dhcpEntry" || eventKind.tableName == "installation"
        }

        func databaseDidChange(with event: DatabaseEvent) {
            let rowID = event.rowID
            let kind = event.kind
            let isEntry = event.tableName == "dhcpEntry"
            state.withLock { state in
                guard isEntry else {
                    state.installationsChanged = true
                    return
                }
                switch kind {
                case .insert, .update: state.changedRows.insert(rowID)
                case .delete: state.deletedRows.insert(rowID)
                }
            }
        }

        /// Changes SQLite could not describe (see `Database.notifyChanges(in:)`): lookups go to the database until the
        /// next commit reads everything again.
        func databaseDidChange() {
            state.withLock { $0.contents = nil }
        }

        func databaseDidCommit(_ db: Database) {
            let (changed, deleted, installations, everything) = state.withLock { state in
                defer {
                    state.changedRows = []
                    state.deletedRows = []
                    state.installationsChanged = false
                }
                return (state.changedRows, state.deletedRows, state.installationsChanged, state.contents == nil)
            }
            guard everything || !changed.isEmpty || !deleted.isEmpty || installations else { return }
            do {
                if everything {
                    try reloadEverything(db)
                    return
                }
                // Read and decoded before the lock: lookups wait only for the dictionaries to change, in place.
                let rows = try Self.readRows(changed, db)
                let installing = installations ? try Self.installing(db) : nil
                state.withLock { state in
                    guard state.contents != nil else { return }
                    for rowID in deleted { state.contents!.forget(rowID: rowID) }
                    for row in rows { state.contents!.put(row) }
                    if let installing { state.contents!.installing = installing }
                }
            } catch {
                // Every lookup goes to the database until a later commit reads everything again.
                state.withLock { $0.contents = nil }
                logger.error("the boot index cannot be reloaded; boot requests read the database until it can", metadata: ["error": "\(error)"])
            }
        }

        func databaseDidRollback(_ db: Database) {
            state.withLock { state in
                state.changedRows = []
                state.deletedRows = []
                state.installationsChanged = false
            }
        }

        /// Reads both tables afresh.
        func reloadEverything(_ db: Database) throws {
            var contents = Contents()
            let rows = try Row.fetchCursor(db, sql: "SELECT rowid, mac, document FROM dhcpEntry")
            while let row = try rows.next() {
                contents.put(ReadRow(rowID: row[0], macText: String.fromDatabaseValue(row[1]), document: String.fromDatabaseValue(row[2])))
            }
            contents.installing = try Self.installing(db)
            state.withLock { $0.contents = contents }
        }

        /// The rows `rowIDs` as they are now; a row no longer there (deleted later in the transaction, or replaced by
        /// a row of the same MAC) comes back as gone.
        static func readRows(_ rowIDs: Set<Int64>, _ db: Database) throws -> [ReadRow] {
            let sorted = rowIDs.sorted()
            var read: [ReadRow] = []
            for start in stride(from: 0, to: sorted.count, by: 500) {
                let batch = Array(sorted[start..<min(start + 500, sorted.count)])
                var found = Set<Int64>()
                let placeholders = Array(repeating: "?", count: batch.count).joined(separator: ",")
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT rowid, mac, document FROM dhcpEntry WHERE rowid IN (\(placeholders))", arguments: StatementArguments(batch))
                while let row = try rows.next() {
                    let rowID: Int64 = row[0]
                    found.insert(rowID)
                    read.append(ReadRow(rowID: rowID, macText: String.fromDatabaseValue(row[1]), document: String.fromDatabaseValue(row[2])))
                }
                read += batch.filter { !found.contains($0) }.map { ReadRow(rowID: $0, macText: nil, document: nil) }
            }
            return read
        }

        static func installing(_ db: Database) throws -> Set<MACAddress> {
            Set(try String.fetchAll(db, sql: "SELECT mac FROM installation WHERE state = 'running' AND mac IS NOT NULL").compactMap(MACAddress.init))
        }
    }
}
