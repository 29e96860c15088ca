import AgentCore
import Foundation
import GRDB

/// One entry of a port's `assignments`, as the seed shapes it: `{"type": "server", "relId": 61, "connectionId": 26}`
/// (what is cabled to the port, and which of the controller's connections that cable is).
public struct PortAssignment: Sendable, Hashable, Codable {
    public var type: String
    public var relId: Int64
    public var connectionId: Int64?

    public init(type: String, relId: Int64, connectionId: Int64? = nil) {
        self.type = type
        self.relId = relId
        self.connectionId = connectionId
    }

    enum CodingKeys: String, CodingKey { case type, relId, connectionId }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decodeTolerantString(forKey: .type)
        guard !type.isEmpty, type.count <= 32, type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw container.invalid(.type, "must be 1 to 32 letters, digits, _ or - (the seed uses \"server\")")
        }
        relId = Int64(try container.decodeTolerantInt(forKey: .relId))
        guard relId > 0 else { throw container.invalid(.relId, "must be a positive id") }
        connectionId = try container.decodeTolerantIntIfPresent(forKey: .connectionId).map(Int64.init)
        if let connectionId, connectionId <= 0 { throw container.invalid(.connectionId, "must be a positive id") }
    }

    /// Encodes `connectionId` as null rather than leaving it out, as the seed's lists always carry it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(relId, forKey: .relId)
        try container.encode(connectionId, forKey: .connectionId)
    }
}

/// A time during which a port counted for a server: from `assignedAt` until `unassignedAt` (nil while it still does).
public struct AssignmentPeriod: Sendable, Equatable {
    public var deviceId: String
    public var portId: Int
    public var connectionId: Int64?
    public var assignedAt: Date
    public var unassignedAt: Date?

    public init(deviceId: String, portId: Int, connectionId: Int64?, assignedAt: Date, unassignedAt: Date?) {
        self.deviceId = deviceId
        self.portId = portId
        self.connectionId = connectionId
        self.assignedAt = assignedAt
        self.unassignedAt = unassignedAt
    }

    /// The 5-minute buckets this period owns: those starting in [floor(assignedAt), floor(unassignedAt)). A bucket in
    /// which the assignment changed belongs to whoever held the port at its end, so every bucket of a port counts for
    /// exactly one holder and a re-assigned port is never counted twice.
    public func owns(bucket: Int64, bucketSeconds: Int64 = BandwidthStore.bucketSeconds) -> Bool {
        let start = Self.floor(assignedAt, bucketSeconds)
        guard bucket >= start else { return false }
        guard let unassignedAt else { return true }
        return bucket < Self.floor(unassignedAt, bucketSeconds)
    }

    static func floor(_ date: Date, _ bucketSeconds: Int64) -> Int64 {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        return seconds - ((seconds % bucketSeconds) + bucketSeconds) % bucketSeconds
    }
}

/// The ports' assignments with their history (which server a port counted for, and when), kept so that a port
/// re-assigned mid-month bills each server only for its own time.
public struct PortAssignmentStore: Sendable {
    /// The table, one of `SNMPSchema.migrations`.
    static let migration = SchemaMigration("snmp.assignments.v1") { db in
            try db.create(table: "portAssignment") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("deviceId", .text).notNull().references("networkDevice", onDelete: .cascade)
                table.column("ifIndex", .integer).notNull()
                table.column("type", .text).notNull()
                table.column("relId", .integer).notNull()
                table.column("connectionId", .integer)
                table.column("assignedAt", .double).notNull()
                table.column("unassignedAt", .double)
            }
            try db.create(index: "portAssignmentByPort", on: "portAssignment", columns: ["deviceId", "ifIndex", "unassignedAt"])
            try db.create(index: "portAssignmentByTarget", on: "portAssignment", columns: ["type", "relId"])
        }

    let database: AgentDatabase

    public init(database: AgentDatabase) {
        self.database = database
    }

    /// Makes `assignments` the port's current list (an empty list clears it): entries no longer listed end at `time`,
    /// new ones start at `time`, unchanged ones keep their history. Returns the list as stored, in the given order.
    @discardableResult
    public func set(deviceId: String, portId: Int, _ assignments: [PortAssignment], at time: Date = Date()) async throws -> [PortAssignment] {
        let wanted = Self.unique(assignments)
        return try await database.writer.write { db in
            let current = try Self.currentRows(db, deviceId: deviceId, portId: portId)
            for (rowId, assignment) in current where !wanted.contains(assignment) {
                try db.execute(sql: "UPDATE portAssignment SET unassignedAt = ? WHERE id = ?", arguments: [time.timeIntervalSince1970, rowId])
            }
            let kept = Set(current.map(\.assignment))
            for assignment in wanted where !kept.contains(assignment) {
                try db.execute(
                    sql: "INSERT INTO portAssignment (deviceId, ifIndex, type, relId, connectionId, assignedAt) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [deviceId, portId, assignment.type, assignment.relId, assignment.connectionId, time.timeIntervalSince1970])
            }
            return wanted
        }
    }

    /// Every port's current assignments on one device, in the order they were made.
    public func current(deviceId: String) async throws -> [Int: [PortAssignment]] {
        try await database.writer.read { db in try Self.current(db, deviceId: deviceId) }
    }

    /// The same, inside a transaction the caller holds (the bandwidth poll tags its samples with it).
    static func current(_ db: Database, deviceId: String) throws -> [Int: [PortAssignment]] {
        var result: [Int: [PortAssignment]] = [:]
        let rows = try Row.fetchAll(
            db, sql: "SELECT ifIndex, type, relId, connectionId FROM portAssignment WHERE deviceId = ? AND unassignedAt IS NULL ORDER BY id",
            arguments: [deviceId])
        for row in rows {
            result[row["ifIndex"], default: []].append(PortAssignment(type: row["type"], relId: row["relId"], connectionId: row["connectionId"]))
        }
        return result
    }

    /// Every period in which a port on any device counted for the server `serverId`, oldest first.
    public func periods(serverId: Int64) async throws -> [AssignmentPeriod] {
        try await database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT deviceId, ifIndex, connectionId, assignedAt, unassignedAt FROM portAssignment
                    WHERE type = 'server' AND relId = ? ORDER BY assignedAt, id
                    """,
                arguments: [serverId]
            ).map { row in
                let unassigned: Double? = row["unassignedAt"]
                return AssignmentPeriod(
                    deviceId: row["deviceId"], portId: row["ifIndex"], connectionId: row["connectionId"],
                    assignedAt: Date(timeIntervalSince1970: row["assignedAt"]), unassignedAt: unassigned.map { Date(timeIntervalSince1970: $0) })
            }
        }
    }

    private static func currentRows(_ db: Database, deviceId: String, portId: Int) throws -> [(rowId: Int64, assignment: PortAssignment)] {
        try Row.fetchAll(
            db, sql: "SELECT id, type, relId, connectionId FROM portAssignment WHERE deviceId = ? AND ifIndex = ? AND unassignedAt IS NULL ORDER BY id",
            arguments: [deviceId, portId]
        ).map { ($0["id"], PortAssignment(type: $0["type"], relId: $0["relId"], connectionId: $0["connectionId"])) }
    }

    /// The list without repeats, first occurrence kept.
    static func unique(_ assignments: [PortAssignment]) -> [PortAssignment] {
        var seen: Set<PortAssignment> = []
        return assignments.filter { seen.insert($0).inserted }
    }
}
