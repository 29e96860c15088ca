import AgentCore
import Foundation
import GRDB

/// The SNMP module's tables: registered devices, counter baselines, bandwidth samples and rollups.
public enum SNMPSchema {
    public static let migrations: [SchemaMigration] = [
        SchemaMigration("snmp.v1") { db in
            try db.create(table: "networkDevice") { table in
                table.column("id", .text).primaryKey()
                table.column("document", .text).notNull()
                table.column("statusCache", .text)
                table.column("portsCache", .text)
                table.column("counterWidth", .integer)
                table.column("reachable", .boolean)
                table.column("createdAt", .datetime).notNull()
                table.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "portBaseline") { table in
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                // Counters are unsigned 64-bit; SQLite integers are signed, so the bit pattern is stored.
                table.column("inOctets", .integer).notNull()
                table.column("outOctets", .integer).notNull()
                table.column("width", .integer).notNull()
                table.column("speedMbps", .integer).notNull()
                table.column("discontinuityTime", .integer)
                table.column("time", .double).notNull()
                table.column("sysUpTime", .integer).notNull()
                table.column("present", .boolean).notNull()
                table.primaryKey(["deviceId", "ifIndex"])
            }
            try db.create(table: "bandwidthSample") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                table.column("startedAt", .datetime).notNull()
                table.column("endedAt", .datetime).notNull()
                table.column("inOctets", .integer).notNull()
                table.column("outOctets", .integer).notNull()
            }
            try db.create(index: "bandwidthSampleByPort", on: "bandwidthSample", columns: ["deviceId", "ifIndex", "endedAt"])
            try db.create(table: "bandwidthRollup") { table in
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                table.column("bucket", .integer).notNull()
                table.column("inOctets", .integer).notNull()
                table.column("outOctets", .integer).notNull()
                table.primaryKey(["deviceId", "ifIndex", "bucket"])
            }
            try db.create(table: "bandwidthDaily") { table in
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                table.column("day", .text).notNull()
                table.column("inOctets", .integer).notNull()
                table.column("outOctets", .integer).notNull()
                table.primaryKey(["deviceId", "ifIndex", "day"])
            }
            try db.create(table: "bandwidthDrop") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade).indexed()
                table.column("ifIndex", .integer).notNull()
                table.column("at", .datetime).notNull()
                table.column("reason", .text).notNull()
            }
        },
        PortAssignmentStore.migration,
        // Each port's running totals of the deltas the agent accepted, which /metrics exports as counters.
        SchemaMigration("snmp.portCounterTotals.v1") { db in
            try db.create(table: "portCounterTotal") { table in
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                table.column("inOctets", .integer).notNull()
                table.column("outOctets", .integer).notNull()
                table.column("polledAt", .double).notNull()
                table.primaryKey(["deviceId", "ifIndex"])
            }
        },
        // Closed days packed per port (see PackedBandwidthDay and BandwidthRetention): 5-minute buckets, later hourly.
        SchemaMigration("snmp.bandwidthSeries.v1") { db in
            try db.create(table: "bandwidthSeries") { table in
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                table.column("day", .integer).notNull()
                table.column("bucketSeconds", .integer).notNull()
                table.column("data", .blob).notNull()
                table.primaryKey(["deviceId", "ifIndex", "day"])
            }
            // The retention job finds the days to coarsen or drop by age.
            try db.create(index: "bandwidthSeriesByAge", on: "bandwidthSeries", columns: ["bucketSeconds", "day"])
        },
        // Smaller daily rows (no separate key index; a day as an integer), and each port's newest sample beside its
        // totals, so that per-poll samples need not be kept to know the last rate. (The 5-minute rows stay as they are: a
        // store upgraded with a year of them is packed by the retention job, in the background, not copied at start.)
        SchemaMigration("snmp.bandwidthCompact.v1") { db in
            try db.create(table: "bandwidthDay", options: .withoutRowID) { table in
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                table.column("day", .integer).notNull()
                table.column("inOctets", .integer).notNull()
                table.column("outOctets", .integer).notNull()
                table.primaryKey(["deviceId", "ifIndex", "day"])
            }
            try db.execute(
                sql: "INSERT INTO bandwidthDay SELECT deviceId, ifIndex, CAST(strftime('%s', day) AS INTEGER), inOctets, outOctets FROM bandwidthDaily")
            try db.drop(table: "bandwidthDaily")
            try db.alter(table: "portCounterTotal") { table in
                table.add(column: "lastStartedAt", .double)
                table.add(column: "lastEndedAt", .double)
                table.add(column: "lastInOctets", .integer)
                table.add(column: "lastOutOctets", .integer)
            }
            try db.execute(
                sql: """
                    UPDATE portCounterTotal SET (lastStartedAt, lastEndedAt, lastInOctets, lastOutOctets) = (
                        SELECT (julianday(s.startedAt) - 2440587.5) * 86400.0, (julianday(s.endedAt) - 2440587.5) * 86400.0, s.inOctets, s.outOctets
                        FROM bandwidthSample s WHERE s.deviceId = portCounterTotal.deviceId AND s.ifIndex = portCounterTotal.ifIndex
                        ORDER BY s.endedAt DESC LIMIT 1)
                    """)
        },
    ]
}

/// A device as stored, with what the agent learned about it.
public struct StoredNetworkDevice: Sendable {
    public var device: NetworkDevice
    /// The seed's statusCache: `{"content": {"success": 1, "result": "<sysDescr>"}, "time": <epoch>}`.
    public var statusCache: JSONValue?
    public var portsCache: [InterfacePort]?
    /// 64 when ifXTable counters are used, 32 when the device only has ifInOctets/ifOutOctets.
    public var counterWidth: CounterWidth?
    public var reachable: Bool?
}

/// Registered network devices (PUT is idempotent; secrets live only in the 0600 database).
public struct NetworkDeviceStore: Sendable {
    let database: AgentDatabase

    public init(database: AgentDatabase) {
        self.database = database
    }

    /// Inserts or replaces; masked secrets keep the stored values. Returns the stored device and whether it is new.
    @discardableResult
    public func put(_ incoming: NetworkDevice) async throws -> (NetworkDevice, created: Bool) {
        try await database.writer.write { db in
            let existing = try Self.fetch(db, incoming.id)
            let device = try incoming.resolvingMaskedSecrets(from: existing?.device)
            let document = device.storageRepresentation.jsonText
            let now = Date()
            if existing == nil {
                try db.execute(
                    sql: "INSERT INTO networkDevice (id, document, createdAt, updatedAt) VALUES (?, ?, ?, ?)",
                    arguments: [device.id, document, now, now])
            } else {
                // A changed address or credentials invalidate the caches; counter baselines stay valid per ifIndex.
                try db.execute(
                    sql: "UPDATE networkDevice SET document = ?, updatedAt = ?, statusCache = NULL, portsCache = NULL WHERE id = ?",
                    arguments: [document, now, device.id])
            }
            return (device, existing == nil)
        }
    }

    public func get(_ id: String) async throws -> StoredNetworkDevice? {
        try await database.writer.read { db in try Self.fetch(db, id) }
    }

    public func all() async throws -> [StoredNetworkDevice] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM networkDevice ORDER BY id").compactMap(Self.decode)
        }
    }

    /// Removes the device with its counters and history.
    public func delete(_ id: String) async throws -> Bool {
        try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM networkDevice WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Records the SNMP version a PDU registered without one answered.
    public func setDetectedVersion(_ id: String, _ version: SNMPTarget.Version) async throws {
        try await database.writer.write { db in
            guard var stored = try Self.fetch(db, id) else { return }
            stored.device.detectedSnmpVersion = version
            try db.execute(sql: "UPDATE networkDevice SET document = ? WHERE id = ?", arguments: [stored.device.storageRepresentation.jsonText, id])
        }
    }

    public func setStatusCache(_ id: String, _ status: JSONValue) async throws {
        try await database.writer.write { db in
            try db.execute(sql: "UPDATE networkDevice SET statusCache = ? WHERE id = ?", arguments: [status.jsonText, id])
        }
    }

    public func setPortsCache(_ id: String, _ ports: [InterfacePort]?) async throws {
        let text = try ports.map { String(decoding: try JSONCoding.encoder.encode($0), as: UTF8.self) }
        try await database.writer.write { db in
            try db.execute(sql: "UPDATE networkDevice SET portsCache = ? WHERE id = ?", arguments: [text, id])
        }
    }

    /// Drops the status and ports caches (the seed's clearCache).
    public func clearCaches(_ id: String) async throws {
        try await database.writer.write { db in
            try db.execute(sql: "UPDATE networkDevice SET statusCache = NULL, portsCache = NULL WHERE id = ?", arguments: [id])
        }
    }

    static func fetch(_ db: Database, _ id: String) throws -> StoredNetworkDevice? {
        try Row.fetchOne(db, sql: "SELECT * FROM networkDevice WHERE id = ?", arguments: [id]).flatMap(decode)
    }

    static func decode(_ row: Row) -> StoredNetworkDevice? {
        let document: String = row["document"]
        guard let value = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(document.utf8)),
            let device = try? value.decode(as: NetworkDevice.self)
        else { return nil }
        let status: String? = row["statusCache"]
        let ports: String? = row["portsCache"]
        let width: Int? = row["counterWidth"]
        return StoredNetworkDevice(
            device: device,
            statusCache: status.flatMap { try? JSONCoding.decoder.decode(JSONValue.self, from: Data($0.utf8)) },
            portsCache: ports.flatMap { try? JSONCoding.decoder.decode([InterfacePort].self, from: Data($0.utf8)) },
            counterWidth: width.flatMap(CounterWidth.init(rawValue:)), reachable: row["reachable"])
    }
}
