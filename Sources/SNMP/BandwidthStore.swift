import AgentCore
import Foundation
import GRDB

/// One device's poll: per-port counters (already in the server's point of view when flip_in_out is set).
public struct DevicePoll: Sendable {
    public var deviceId: String
    public var time: Date
    public var sysUpTime: UInt32
    public var width: CounterWidth
    public var ports: [PortCounters]

    public init(deviceId: String, time: Date, sysUpTime: UInt32, width: CounterWidth, ports: [PortCounters]) {
        self.deviceId = deviceId
        self.time = time
        self.sysUpTime = sysUpTime
        self.width = width
        self.ports = ports
    }
}

/// What a poll produced, port by port.
public struct PollOutcome: Sendable, Equatable {
    public struct Sample: Sendable, Equatable, Codable {
        public var portId: Int
        public var inOctets: UInt64
        public var outOctets: UInt64
        public var startedAt: Date
        public var endedAt: Date

        public init(portId: Int, inOctets: UInt64, outOctets: UInt64, startedAt: Date, endedAt: Date) {
            self.portId = portId
            self.inOctets = inOctets
            self.outOctets = outOctets
            self.startedAt = startedAt
            self.endedAt = endedAt
        }
    }

    public struct Drop: Sendable, Equatable, Codable {
        public var portId: Int
        public var reason: String

        public init(portId: Int, reason: String) {
            self.portId = portId
            self.reason = reason
        }
    }

    public var samples: [Sample] = []
    public var drops: [Drop] = []
    public var baselines: [Int] = []
    /// The device had been marked unreachable; this poll marked it reachable (and queued `device.status`).
    public var becameReachable = false
}

/// Stores per-poll deltas, 5-minute rollups and daily totals, and answers the statistics queries. Closed days are
/// packed and coarsened by ``applyRetention(_:now:)``; the queries read every form.
public struct BandwidthStore: Sendable {
    public static let bucketSeconds: Int64 = 300
    let database: AgentDatabase
    let outbox: Outbox
    /// Whether every poll's per-port deltas are kept (`snmp.rawSampleRetentionDays` above 0) besides each port's newest.
    let keepsPerPollSamples: Bool

    /// - Parameter keepsPerPollSamples: keep every poll's deltas (for `snmp.rawSampleRetentionDays`) as well as each
    ///   port's newest, which the last rate needs; the controller receives every one in `bandwidth.samples` events.
    public init(database: AgentDatabase, outbox: Outbox, keepsPerPollSamples: Bool = false) {
        self.database = database
        self.outbox = outbox
        self.keepsPerPollSamples = keepsPerPollSamples
    }

    /// Decides each port against its baseline and records everything in one transaction: new baselines,
    /// samples, rollups, daily totals, the port's running totals (what /metrics exports), drop reasons and the
    /// `bandwidth.samples` event. Ports missing from this poll are marked absent so their return is not counted as
    /// traffic.
    @discardableResult
    public func record(_ poll: DevicePoll) async throws -> PollOutcome {
        try await database.writer.write { db in
            var outcome = PollOutcome()
            var previous: [Int: PortBaseline] = [:]
            let baselines = try db.cachedStatement(
                sql: "SELECT ifIndex, inOctets, outOctets, width, speedMbps, discontinuityTime, time, sysUpTime, present FROM portBaseline WHERE deviceId = ?")
            for row in try Row.fetchAll(baselines, arguments: [poll.deviceId]) {
                previous[row[0]] = Self.baseline(row)
            }
            let saveBaseline = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO portBaseline (deviceId, ifIndex, inOctets, outOctets, width, speedMbps, discontinuityTime, time, sysUpTime, present)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let recordDrop = try db.cachedStatement(sql: "INSERT INTO bandwidthDrop (deviceId, ifIndex, at, reason) VALUES (?, ?, ?, ?)")
            // A port's running totals grow by the deltas accepted here (a counter's wrap is traffic, not a reset), never by a
            // dropped sample; its newest accepted sample stays beside them (the last rate).
            let addToTotals = try db.cachedStatement(
                sql: """
                    INSERT INTO portCounterTotal (deviceId, ifIndex, inOctets, outOctets, polledAt, lastStartedAt, lastEndedAt, lastInOctets, lastOutOctets)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(deviceId, ifIndex) DO UPDATE SET
                        inOctets = inOctets + excluded.inOctets, outOctets = outOctets + excluded.outOctets, polledAt = excluded.polledAt,
                        lastStartedAt = coalesce(excluded.lastStartedAt, lastStartedAt), lastEndedAt = coalesce(excluded.lastEndedAt, lastEndedAt),
                        lastInOctets = coalesce(excluded.lastInOctets, lastInOctets), lastOutOctets = coalesce(excluded.lastOutOctets, lastOutOctets)
                    """)
            var seen: Set<Int> = []
            for counters in poll.ports {
                seen.insert(counters.ifIndex)
                let stored = previous[counters.ifIndex]
                var accepted: (inOctets: UInt64, outOctets: UInt64) = (0, 0)
                var acceptedSince: Date?
                switch CounterMath.decide(previous: stored, current: counters, time: poll.time, sysUpTime: poll.sysUpTime) {
                case .baseline:
                    outcome.baselines.append(counters.ifIndex)
                case .dropped(let reason):
                    outcome.drops.append(.init(portId: counters.ifIndex, reason: reason))
                    try recordDrop.execute(arguments: [poll.deviceId, counters.ifIndex, poll.time, reason])
                case .delta(let inOctets, let outOctets, _):
                    let startedAt = stored!.time
                    outcome.samples.append(.init(portId: counters.ifIndex, inOctets: inOctets, outOctets: outOctets, startedAt: startedAt, endedAt: poll.time))
                    try insertSample(db, deviceId: poll.deviceId, ifIndex: counters.ifIndex, inOctets: inOctets, outOctets: outOctets, from: startedAt, to: poll.time)
                    accepted = (inOctets, outOctets)
                    acceptedSince = startedAt
                }
                let last: [(any DatabaseValueConvertible)?] =
                    acceptedSince.map { [$0.timeIntervalSince1970, poll.time.timeIntervalSince1970, Int64(clamping: accepted.inOctets), Int64(clamping: accepted.outOctets)] }
                    ?? [nil, nil, nil, nil]
                try addToTotals.execute(
                    arguments: StatementArguments(
                        [
                            poll.deviceId, counters.ifIndex, Int64(clamping: accepted.inOctets), Int64(clamping: accepted.outOctets), poll.time.timeIntervalSince1970,
                        ] + last))
                try saveBaseline.execute(arguments: Self.arguments(deviceId: poll.deviceId, PortBaseline(counters: counters, time: poll.time, sysUpTime: poll.sysUpTime)))
            }
            for (ifIndex, var baseline) in previous where !seen.contains(ifIndex) && baseline.present {
                baseline.present = false
                try saveBaseline.execute(arguments: Self.arguments(deviceId: poll.deviceId, baseline))
                outcome.drops.append(.init(portId: ifIndex, reason: "port missing from this poll"))
                try recordDrop.execute(arguments: [poll.deviceId, ifIndex, poll.time, "port missing from this poll"])
            }
            let wasReachable = try Bool.fetchOne(db, sql: "SELECT reachable FROM networkDevice WHERE id = ?", arguments: [poll.deviceId])
            try db.cachedStatement(sql: "UPDATE networkDevice SET counterWidth = ?, reachable = 1 WHERE id = ?")
                .execute(arguments: [poll.width.rawValue, poll.deviceId])
            if wasReachable == false {
                outcome.becameReachable = true
                try outbox.append(OutboxEvent(type: "device.status", time: poll.time, data: ["deviceId": .string(poll.deviceId), "reachable": true]), in: db)
            }
            if !outcome.samples.isEmpty || !outcome.drops.isEmpty {
                let assignments = try PortAssignmentStore.current(db, deviceId: poll.deviceId)
                try outbox.append(OutboxEvent(type: "bandwidth.samples", time: poll.time, data: Self.event(poll, outcome, assignments: assignments)), in: db)
            }
            return outcome
        }
    }

    /// The `bandwidth.samples` event of one poll. Each port carries the server it counts for (`serverId`, null when
    /// none or several; `serverIds` lists them all) so that the controller can bill without a join.
    static func event(_ poll: DevicePoll, _ outcome: PollOutcome, assignments: [Int: [PortAssignment]]) -> JSONValue {
        [
            "deviceId": .string(poll.deviceId), "polledAt": .string(timestamp(poll.time)), "counterWidth": .integer(Int64(poll.width.rawValue)),
            "ports": .array(outcome.samples.map { sample in
                // One server cabled twice to a port (two connections) is still one server.
                let servers = Array(Set((assignments[sample.portId] ?? []).filter { $0.type == "server" }.map(\.relId))).sorted()
                return [
                    "portId": .integer(Int64(sample.portId)), "inOctets": .integer(Int64(clamping: sample.inOctets)),
                    "outOctets": .integer(Int64(clamping: sample.outOctets)), "startedAt": .string(timestamp(sample.startedAt)),
                    "endedAt": .string(timestamp(sample.endedAt)),
                    "serverId": servers.count == 1 ? .integer(servers[0]) : .null, "serverIds": .array(servers.map(JSONValue.integer)),
                ]
            }),
            "dropped": .array(outcome.drops.map { ["portId": .integer(Int64($0.portId)), "reason": .string($0.reason)] }),
        ]
    }

    static func baseline(_ row: Row) -> PortBaseline {
        let inOctets: Int64 = row[1]
        let outOctets: Int64 = row[2]
        let discontinuity: Int64? = row[5]
        let counters = PortCounters(
            ifIndex: row[0], inOctets: UInt64(bitPattern: inOctets), outOctets: UInt64(bitPattern: outOctets),
            width: CounterWidth(rawValue: row[3]) ?? .bits64, speedMbps: UInt64(max(0, row[4] as Int64)),
            discontinuityTime: discontinuity.map { UInt64(bitPattern: $0) })
        return PortBaseline(counters: counters, time: Date(timeIntervalSince1970: row[6]), sysUpTime: UInt32(truncatingIfNeeded: row[7] as Int64), present: row[8])
    }

    static func arguments(deviceId: String, _ baseline: PortBaseline) -> StatementArguments {
        let counters = baseline.counters
        return [
            deviceId, counters.ifIndex, Int64(bitPattern: counters.inOctets), Int64(bitPattern: counters.outOctets), counters.width.rawValue,
            Int64(clamping: counters.speedMbps), counters.discontinuityTime.map { Int64(bitPattern: $0) }, baseline.time.timeIntervalSince1970,
            Int64(baseline.sysUpTime), baseline.present,
        ]
    }

    private func insertSample(_ db: Database, deviceId: String, ifIndex: Int, inOctets: UInt64, outOctets: UInt64, from start: Date, to end: Date) throws {
        if keepsPerPollSamples {
            try db.cachedStatement(sql: "INSERT INTO bandwidthSample (deviceId, ifIndex, startedAt, endedAt, inOctets, outOctets) VALUES (?, ?, ?, ?, ?, ?)")
                .execute(arguments: [deviceId, ifIndex, start, end, Int64(clamping: inOctets), Int64(clamping: outOctets)])
        }
        let rollup = try db.cachedStatement(
            sql: """
                INSERT INTO bandwidthRollup (deviceId, ifIndex, bucket, inOctets, outOctets) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(deviceId, ifIndex, bucket) DO UPDATE SET inOctets = inOctets + excluded.inOctets, outOctets = outOctets + excluded.outOctets
                """)
        let daily = try db.cachedStatement(
            sql: """
                INSERT INTO bandwidthDay (deviceId, ifIndex, day, inOctets, outOctets) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(deviceId, ifIndex, day) DO UPDATE SET inOctets = inOctets + excluded.inOctets, outOctets = outOctets + excluded.outOctets
                """)
        let inParts = CounterMath.apportion(inOctets, from: start, to: end, bucketSeconds: Self.bucketSeconds)
        let outParts = Dictionary(uniqueKeysWithValues: CounterMath.apportion(outOctets, from: start, to: end, bucketSeconds: Self.bucketSeconds).map { ($0.bucket, $0.octets) })
        for (bucket, inShare) in inParts {
            let outShare = outParts[bucket] ?? 0
            try rollup.execute(arguments: [deviceId, ifIndex, bucket, Int64(clamping: inShare), Int64(clamping: outShare)])
            try daily.execute(arguments: [deviceId, ifIndex, UTCTime.dayStart(bucket), Int64(clamping: inShare), Int64(clamping: outShare)])
        }
    }

    /// Marks a device unreachable (the poller calls this on a failed poll); when it was reachable, the
    /// `device.status` event commits in the same transaction. True when this changed its status.
    @discardableResult
    public func markUnreachable(_ deviceId: String, errorCode: String) async throws -> Bool {
        try await database.writer.write { db in
            let was: Bool? = try Bool.fetchOne(db, sql: "SELECT reachable FROM networkDevice WHERE id = ?", arguments: [deviceId])
            try db.execute(sql: "UPDATE networkDevice SET reachable = 0 WHERE id = ?", arguments: [deviceId])
            guard was != false else { return false }
            try outbox.append(
                OutboxEvent(type: "device.status", data: ["deviceId": .string(deviceId), "reachable": false, "error": .string(errorCode)]), in: db)
            return true
        }
    }

    // MARK: Queries

    /// The volumes of one port in one bucket: 5 minutes for the last ``BandwidthRetention/fiveMinuteDays``, an hour or a
    /// day for older history.
    public struct Rollup: Sendable, Equatable {
        public var ifIndex: Int
        /// The bucket's start, in seconds since 1970.
        public var bucket: Int64
        public var inOctets: UInt64
        public var outOctets: UInt64
        /// The bucket's length.
        public var seconds: Int64

        public init(ifIndex: Int, bucket: Int64, inOctets: UInt64, outOctets: UInt64, seconds: Int64 = BandwidthStore.bucketSeconds) {
            self.ifIndex = ifIndex
            self.bucket = bucket
            self.inOctets = inOctets
            self.outOctets = outOctets
            self.seconds = seconds
        }
    }

    /// The rollups of `ports` (every port when empty) whose buckets start in [from, to), by port and time, each day in
    /// the finest form the store still holds: 5-minute buckets (the open day's rows, or a packed closed day with any
    /// late rows added), hourly buckets (a packed older day, late rows summed into their hours), or the day's exact
    /// volumes once the finer forms have aged out. The port filter is part of each query, so that one port's month
    /// reads that port's data only (the primary keys' order), not the device's.
    public func rollups(deviceId: String, ports: [Int], from: Date, to: Date) async throws -> [Rollup] {
        try await database.writer.read { db in
            let fromSeconds = Int64(from.timeIntervalSince1970.rounded(.down))
            let toSeconds = Int64(to.timeIntervalSince1970.rounded(.down))
            let firstDay = UTCTime.dayStart(fromSeconds)
            let selection = PortSelection(ports)
            struct PortDay: Hashable { var ifIndex: Int; var day: Int64 }

            var rowArguments: StatementArguments = [deviceId]
            var sql = "SELECT ifIndex, bucket, inOctets, outOctets FROM bandwidthRollup WHERE deviceId = ?" + selection.clause(&rowArguments)
            sql += " AND bucket >= ? AND bucket < ?"
            rowArguments += [firstDay, toSeconds]
            var rows: [PortDay: [Rollup]] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: rowArguments) {
                let ifIndex: Int = row[0]
                guard selection.admits(ifIndex) else { continue }
                let bucket: Int64 = row[1]
                let inOctets: Int64 = row[2]
                let outOctets: Int64 = row[3]
                rows[PortDay(ifIndex: ifIndex, day: UTCTime.dayStart(bucket)), default: []].append(
                    Rollup(ifIndex: ifIndex, bucket: bucket, inOctets: UInt64(max(0, inOctets)), outOctets: UInt64(max(0, outOctets))))
            }

            var seriesArguments: StatementArguments = [deviceId]
            var seriesSQL = "SELECT ifIndex, day, bucketSeconds, data FROM bandwidthSeries WHERE deviceId = ?" + selection.clause(&seriesArguments)
            seriesSQL += " AND day >= ? AND day < ?"
            seriesArguments += [firstDay, toSeconds]
            var dailyArguments: StatementArguments = [deviceId]
            sql = "SELECT ifIndex, day, inOctets, outOctets FROM bandwidthDay WHERE deviceId = ?" + selection.clause(&dailyArguments)
            sql += " AND day >= ? AND day < ?"
            dailyArguments += [firstDay, toSeconds]
            var daily: [PortDay: Rollup] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: dailyArguments) {
                let key = PortDay(ifIndex: row[0], day: row[1])
                guard selection.admits(key.ifIndex) else { continue }
                let inOctets: Int64 = row[2]
                let outOctets: Int64 = row[3]
                daily[key] = Rollup(ifIndex: key.ifIndex, bucket: key.day, inOctets: UInt64(max(0, inOctets)), outOctets: UInt64(max(0, outOctets)), seconds: 86_400)
            }

            var result: [Rollup] = []
            var covered: Set<PortDay> = []
            for row in try Row.fetchAll(db, sql: seriesSQL, arguments: seriesArguments) {
                let key = PortDay(ifIndex: row[0], day: row[1])
                guard selection.admits(key.ifIndex) else { continue }
                var packed = try Self.unpack(row, deviceId: deviceId)
                for late in rows.removeValue(forKey: key) ?? [] {
                    packed.add(bucket: late.bucket, inOctets: late.inOctets, outOctets: late.outOctets)
                }
                covered.insert(key)
                result += packed.rollups(ifIndex: key.ifIndex)
            }
            for (key, dayRows) in rows {
                covered.insert(key)
                // A whole day's rows summing to less than its volume are late ones in a day already down to its daily
                // volume (which counted them too): the day reads as that volume until the job packs the rows. (A day
                // the range ends inside was read only in part, so its rows are not compared.)
                if key.day + 86_400 <= toSeconds, let volume = daily[key],
                    dayRows.reduce(0.0, { $0 + Double($1.inOctets) + Double($1.outOctets) }) < Double(volume.inOctets) + Double(volume.outOctets)
                {
                    result.append(volume)
                } else {
                    result += dayRows
                }
            }
            for (key, volume) in daily where !covered.contains(key) {
                result.append(volume)
            }
            return result.filter { $0.bucket >= fromSeconds && $0.bucket < toSeconds }
                .sorted { ($0.ifIndex, $0.bucket) < ($1.ifIndex, $1.bucket) }
        }
    }

    /// The newest accepted sample of each of `ports` (every port when empty): the last measured rate.
    public func lastSamples(deviceId: String, ports: [Int] = []) async throws -> [Int: PollOutcome.Sample] {
        try await database.writer.read { db in
            let selection = PortSelection(ports)
            var arguments: StatementArguments = [deviceId]
            let sql =
                "SELECT ifIndex, lastStartedAt, lastEndedAt, lastInOctets, lastOutOctets FROM portCounterTotal WHERE deviceId = ? AND lastEndedAt IS NOT NULL"
                + selection.clause(&arguments)
            var result: [Int: PollOutcome.Sample] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                let ifIndex: Int = row[0]
                guard selection.admits(ifIndex) else { continue }
                let inOctets: Int64 = row[3]
                let outOctets: Int64 = row[4]
                result[ifIndex] = .init(
                    portId: ifIndex, inOctets: UInt64(max(0, inOctets)), outOctets: UInt64(max(0, outOctets)),
                    startedAt: Date(timeIntervalSince1970: row[1]), endedAt: Date(timeIntervalSince1970: row[2]))
            }
            return result
        }
    }

    /// Every present port polled since `polledSince` with its running totals and the server it counts for, in
    /// Prometheus's text format, ordered by device and port, rendered on the database's reading thread rather than the
    /// caller's. A port that is no longer polled (its device unreachable, or bandwidth collection off) drops out after
    /// `polledSince`, so that a time-series store sees no data rather than a flat counter.
    public func portCounterExposition(polledSince: Date) async throws -> String {
        try await database.writer.read { db in PortCounterMetrics.render(try Self.portCounterTotals(db, since: polledSince)) }
    }

    static func portCounterTotals(_ db: Database, since polledSince: Date) throws -> [PortCounterTotals] {
        // The servers per port are grouped once (few ports have assignments), not looked up for every port.
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT t.deviceId, t.ifIndex, t.inOctets, t.outOctets, s.serverId
                FROM portCounterTotal t JOIN portBaseline b ON b.deviceId = t.deviceId AND b.ifIndex = t.ifIndex
                LEFT JOIN (
                    SELECT deviceId, ifIndex, CASE WHEN COUNT(DISTINCT relId) = 1 THEN MIN(relId) END AS serverId FROM portAssignment
                    WHERE unassignedAt IS NULL AND type = 'server' GROUP BY deviceId, ifIndex
                ) s ON s.deviceId = t.deviceId AND s.ifIndex = t.ifIndex
                WHERE b.present = 1 AND t.polledAt >= ? ORDER BY t.deviceId, t.ifIndex
                """,
            arguments: [polledSince.timeIntervalSince1970])
        var result: [PortCounterTotals] = []
        while let row = try rows.next() {
            let inOctets: Int64 = row[2]
            let outOctets: Int64 = row[3]
            result.append(
                PortCounterTotals(
                    deviceId: row[0], ifIndex: row[1], inOctets: UInt64(max(0, inOctets)), outOctets: UInt64(max(0, outOctets)), serverId: row[4]))
        }
        return result
    }

    /// Why samples were dropped, newest first.
    public func drops(deviceId: String, limit: Int) async throws -> [(ifIndex: Int, at: Date, reason: String)] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT ifIndex, at, reason FROM bandwidthDrop WHERE deviceId = ? ORDER BY id DESC LIMIT ?", arguments: [deviceId, limit])
                .map { ($0["ifIndex"], $0["at"], $0["reason"]) }
        }
    }

    static func timestamp(_ date: Date) -> String { UTCTime.iso8601(date) }
}

/// A query's list of ports (every port when empty): in the SQL for up to 500 of them, filtered after reading for a
/// longer list (SQLite bounds a statement's variables).
struct PortSelection {
    let ports: [Int]
    private let wanted: Set<Int>
    private let inQuery: Bool

    init(_ ports: [Int]) {
        self.ports = ports
        wanted = Set(ports)
        inQuery = !ports.isEmpty && ports.count <= 500
    }

    /// The condition to add to a query with an `ifIndex` column (empty when the list is filtered after reading).
    func clause(_ arguments: inout StatementArguments) -> String {
        guard inQuery else { return "" }
        arguments += StatementArguments(ports)
        return " AND ifIndex IN (\(Array(repeating: "?", count: ports.count).joined(separator: ", ")))"
    }

    /// Whether a port read back is one of the list.
    func admits(_ ifIndex: Int) -> Bool { inQuery || wanted.isEmpty || wanted.contains(ifIndex) }
}
