import AgentCore
import Foundation
import GRDB
import Logging
import PeerHarness
@testable import Provisioning
import Testing

/// The boot index against the database it mirrors: after every committed write of any kind (the stores' own, raw SQL
/// it did not anticipate, bulk, damaging) each MAC's lookup is what the database says, a rolled-back write changes
/// nothing, and the gate answers from it exactly as from the database.
final class BootIndexTests {
    let directory: TemporaryDirectory
    let database: AgentDatabase
    let index: BootIndex

    init() async throws {
        directory = try TemporaryDirectory()
        database = try AgentDatabase(path: directory.file("agent.sqlite"), migrations: ProvisioningSchema.migrations + InstallationStore.migrations)
        index = try await BootIndex.open(database: database, logger: Logger(label: "test"))
    }

    deinit { directory.remove() }

    static func mac(_ number: Int) -> MACAddress { MACAddress(String(format: "52:54:00:00:%02x:%02x", number / 256, number % 256))! }

    static func entry(_ number: Int, pxe: Bool, expiresAt: Date? = nil) -> DHCPEntry {
        DHCPEntry(
            mac: mac(number), hostname: "node-\(number)", ipv4: .init(ip: "10.0.\(number / 250).\(number % 250 + 1)", cidr: 16, gateway: nil),
            permanent: expiresAt == nil, keepMinutes: expiresAt == nil ? nil : 60, pxe: pxe, expiresAt: expiresAt)
    }

    /// What the database says of a MAC, read the way the gate's database path reads it.
    func truth(_ mac: MACAddress) async throws -> BootIndex.Lookup {
        try await database.writer.read { db in
            let running = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM installation WHERE mac = ? AND state = 'running')", arguments: [mac.description])
            if running == true { return .askDatabase }
            guard let document = try String.fetchOne(db, sql: "SELECT document FROM dhcpEntry WHERE mac = ?", arguments: [mac.description]) else {
                return .unknown
            }
            guard let entry = try? DHCPEntryStore.decode(document) else { return .askDatabase }
            return .entry(pxe: entry.pxe, expiresAt: entry.expiresAt)
        }
    }

    func expectAgreement(_ macs: Int, after step: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for number in 0..<macs {
            let mac = Self.mac(number)
            let expected = try await truth(mac)
            let found = index.lookup(mac)
            #expect(found == expected, "\(mac) after \(step)", sourceLocation: sourceLocation)
            if found != expected { return }
        }
    }

    static func putInstallation(_ serverId: String, mac: MACAddress, state: String, in db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO installation (serverId, token, state, mac, document, updatedAt) VALUES (?, ?, ?, ?, '{}', ?)",
            arguments: [serverId, "token-\(serverId)", state, mac.description, Date()])
    }

    struct Rollback: Error {}

    @Test func everyCommittedWriteIsSeenBeforeTheWriteReturns() async throws {
        var generator = SplitMix(seed: 16)
        let macs = 40
        let now = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970))
        for step in 0..<400 {
            let number = generator.below(macs)
            let mac = Self.mac(number)
            let expiry: Date? = switch generator.below(3) {
            case 0: nil
            case 1: now.addingTimeInterval(-60)
            default: now.addingTimeInterval(3600)
            }
            let entry = Self.entry(number, pxe: generator.below(2) == 0, expiresAt: expiry)
            let operation: String
            switch generator.below(13) {
            case 0, 1, 2:
                operation = "put (insert or replace)"
                try await database.writer.write { db in try DHCPEntryStore.put(entry, in: db) }
            case 3:
                operation = "delete"
                _ = try await database.writer.write { db in try DHCPEntryStore.delete(mac, in: db) }
            case 4:
                operation = "raw SQL update of pxe"
                let pxe = generator.below(2) == 0 ? "true" : "false"
                try await database.writer.write { db in
                    try db.execute(
                        sql: "UPDATE dhcpEntry SET document = json_set(document, '$.pxe', json(?)) WHERE mac = ? AND json_valid(document)",
                        arguments: [pxe, mac.description])
                }
            case 5:
                operation = "damaged document"
                let damage = ["not json", #"{"pxe": "yes"}"#, #"{"mac": "x"}"#, #"{"pxe": true}"#]
                let document = damage[generator.below(damage.count)]
                try await database.writer.write { db in
                    try db.execute(sql: "UPDATE dhcpEntry SET document = ? WHERE mac = ?", arguments: [document, mac.description])
                }
            case 6:
                operation = "expiry that is not a date"
                try await database.writer.write { db in
                    try db.execute(
                        sql: "UPDATE dhcpEntry SET document = json_set(document, '$.expiresAt', 'tomorrow') WHERE mac = ? AND json_valid(document)",
                        arguments: [mac.description])
                }
            case 7:
                operation = "installation running"
                try await database.writer.write { db in try Self.putInstallation("server-\(number)", mac: mac, state: "running", in: db) }
            case 8:
                operation = "installation ended"
                try await database.writer.write { db in try Self.putInstallation("server-\(number)", mac: mac, state: "completed", in: db) }
            case 9:
                operation = "bulk import"
                let entries = (0..<5).map { Self.entry(($0 * 7 + number) % macs, pxe: $0 % 2 == 0) }
                try await DHCPEntryStore(database: database).importEntries(entries)
            case 10, 11:
                operation = "rolled back"
                await #expect(throws: Rollback.self) {
                    try await database.writer.write { db in
                        try DHCPEntryStore.put(entry, in: db)
                        try Self.putInstallation("server-rollback", mac: mac, state: "running", in: db)
                        _ = try DHCPEntryStore.delete(Self.mac((number + 1) % macs), in: db)
                        throw Rollback()
                    }
                }
            default:
                operation = ["every entry deleted", "savepoint released", "savepoint rolled back", "row under a MAC text the database path never asks for"][
                    generator.below(4)]
                try await database.writer.write { [operation] db in
                    switch operation {
                    case "every entry deleted":
                        try db.execute(sql: "DELETE FROM dhcpEntry")
                    case "savepoint released", "savepoint rolled back":
                        try db.inSavepoint {
                            try DHCPEntryStore.put(entry, in: db)
                            _ = try DHCPEntryStore.delete(Self.mac((number + 1) % macs), in: db)
                            return operation == "savepoint released" ? .commit : .rollback
                        }
                    default:
                        try db.execute(
                            sql: "INSERT OR REPLACE INTO dhcpEntry (mac, document, expiresAt, updatedAt) VALUES (?, ?, NULL, ?)",
                            arguments: [mac.description.uppercased(), try DHCPEntryStore.document(entry), Date()])
                    }
                }
            }
            try await expectAgreement(macs, after: "step \(step): \(operation) of \(mac)")
        }
    }

    /// A commit the index cannot read again (the installation table renamed away in the same transaction) sends every
    /// lookup to the database; the next commit that can be read brings the index back, in agreement.
    @Test func aReloadThatFailsSendsLookupsToTheDatabaseUntilOneSucceeds() async throws {
        try await database.writer.write { db in
            for number in 0..<4 { try DHCPEntryStore.put(Self.entry(number, pxe: number % 2 == 0), in: db) }
        }
        try await expectAgreement(4, after: "the first entries")
        try await database.writer.write { db in
            try Self.putInstallation("s1", mac: Self.mac(5), state: "running", in: db)
            try db.execute(sql: "ALTER TABLE installation RENAME TO installationAway")
        }
        for number in 0..<6 { #expect(index.lookup(Self.mac(number)) == .askDatabase, "\(Self.mac(number)) after a failed reload") }
        // Still unreadable: a write to the entries alone does not bring it back.
        try await database.writer.write { db in try DHCPEntryStore.put(Self.entry(6, pxe: true), in: db) }
        #expect(index.lookup(Self.mac(6)) == .askDatabase)
        try await database.writer.write { db in
            try db.execute(sql: "ALTER TABLE installationAway RENAME TO installation")
            try DHCPEntryStore.put(Self.entry(7, pxe: true), in: db)
        }
        try await expectAgreement(8, after: "the table came back")
        #expect(index.lookup(Self.mac(5)) == .askDatabase, "a running installation")
        #expect(index.lookup(Self.mac(0)) == .entry(pxe: true, expiresAt: nil))
    }

    @Test func theGateAnswersFromTheIndexAsFromTheDatabase() async throws {
        let store = DHCPEntryStore(database: database)
        let past = Date(timeIntervalSince1970: floor(Date().timeIntervalSince1970) - 60)
        try await store.importEntries([Self.entry(1, pxe: true), Self.entry(2, pxe: false), Self.entry(3, pxe: true, expiresAt: past)])
        let gate = PXEGate(store: store, index: index, provider: nil, unknownMACAction: .localBoot)
        let refusing = PXEGate(store: store, index: index, provider: nil, unknownMACAction: .refuse)
        func reason(_ answer: BootAnswer) -> String? {
            guard case .script(let script) = answer else { return nil }
            return script.split(separator: "\n").dropFirst().first.map(String.init)
        }
        #expect(reason(try await gate.answer(mac: Self.mac(1), architecture: .bios, clientAddress: nil))?.hasSuffix("no pending installation; booting the local disk") == true)
        #expect(reason(try await gate.answer(mac: Self.mac(2), architecture: .bios, clientAddress: nil))?.contains("PXE is not enabled") == true)
        #expect(reason(try await gate.answer(mac: Self.mac(3), architecture: .efi, clientAddress: nil))?.contains("PXE is not enabled") == true, "expired")
        #expect(reason(try await gate.answer(mac: Self.mac(4), architecture: .bios, clientAddress: nil))?.contains("unknown machine") == true)
        #expect(try await refusing.answer(mac: Self.mac(4), architecture: .bios, clientAddress: nil) == .refused)
        // A damaged entry goes to the database, which names it, as before the index.
        try await database.writer.write { db in try db.execute(sql: "UPDATE dhcpEntry SET document = 'not json' WHERE mac = ?", arguments: [Self.mac(2).description]) }
        #expect(index.lookup(Self.mac(2)) == .askDatabase)
        await #expect(throws: AgentError.self) { try await gate.answer(mac: Self.mac(2), architecture: .bios, clientAddress: nil) }
    }

    /// Writers on their own MACs each read their write back from the index while readers look up every MAC; tasks are
    /// cancelled at random; in the end the index is the database.
    @Test(.timeLimit(.minutes(1))) func concurrentWritersAndReadersEndInAgreement() async throws {
        let writers = 8
        let perWriter = 25
        let database = database
        let index = index
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var generator = SplitMix(seed: UInt64(writer) + 100)
                    for step in 0..<60 {
                        let number = writer * perWriter + generator.below(perWriter)
                        let mac = Self.mac(number)
                        if generator.below(4) == 0 {
                            _ = try await database.writer.write { db in try DHCPEntryStore.delete(mac, in: db) }
                            #expect(index.lookup(mac) == .unknown, "writer \(writer) step \(step)")
                        } else {
                            let pxe = generator.below(2) == 0
                            try await database.writer.write { db in try DHCPEntryStore.put(Self.entry(number, pxe: pxe), in: db) }
                            #expect(index.lookup(mac) == .entry(pxe: pxe, expiresAt: nil), "writer \(writer) step \(step)")
                        }
                    }
                }
            }
            for reader in 0..<4 {
                group.addTask {
                    var generator = SplitMix(seed: UInt64(reader) + 200)
                    for _ in 0..<20_000 {
                        _ = index.lookup(Self.mac(generator.below(writers * perWriter)))
                    }
                }
            }
            // Cancelled writes: a write either commits (and is seen) or does not happen.
            for canceller in 0..<6 {
                let task = Task {
                    var generator = SplitMix(seed: UInt64(canceller) + 300)
                    for _ in 0..<50 {
                        let number = writers * perWriter + generator.below(10)
                        try await database.writer.write { db in try DHCPEntryStore.put(Self.entry(number, pxe: true), in: db) }
                    }
                }
                var generator = SplitMix(seed: UInt64(canceller) + 400)
                try await Task.sleep(for: .milliseconds(generator.below(20)))
                task.cancel()
                _ = await task.result
            }
            try await group.waitForAll()
        }
        try await expectAgreement(writers * perWriter + 10, after: "the concurrent writes")
    }
}
