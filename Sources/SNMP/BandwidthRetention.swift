import AgentCore
import Foundation
import GRDB

/// How long each form of bandwidth history is kept, RRD-style: per-poll samples for days; each closed day's 5-minute
/// buckets, packed per port (``PackedBandwidthDay``), as long as the 30-day 95th percentile needs them; then the same
/// day in hourly buckets; then only its exact daily volumes. Every form keeps the volumes exact: a coarser bucket is
/// the sum of the finer ones, so any day's, month's or year's volume is the same whatever the day's age.
public struct BandwidthRetention: Sendable, Equatable {
    public var rawSampleDays: Int
    public var fiveMinuteDays: Int
    public var hourlyDays: Int
    public var dailyDays: Int

    public init(rawSampleDays: Int, fiveMinuteDays: Int, hourlyDays: Int, dailyDays: Int) {
        self.rawSampleDays = rawSampleDays
        self.fiveMinuteDays = fiveMinuteDays
        self.hourlyDays = hourlyDays
        self.dailyDays = dailyDays
    }

    /// The configured retention (`snmp.rawSampleRetentionDays`, `fiveMinuteRetentionDays`, `hourlyRetentionDays`,
    /// `rollupRetentionDays`); a history kept shorter than the finer forms' days caps them (a configuration written
    /// before the finer forms existed keeps its meaning).
    public init(_ settings: SNMPConfiguration) {
        let hourlyDays = min(settings.hourlyRetentionDays, settings.rollupRetentionDays)
        self.init(
            rawSampleDays: settings.rawSampleRetentionDays, fiveMinuteDays: min(settings.fiveMinuteRetentionDays, hourlyDays), hourlyDays: hourlyDays,
            dailyDays: settings.rollupRetentionDays)
    }

    /// The boundaries as of `now`, in seconds since 1970: what is older than each goes to the next form.
    public struct Boundaries: Sendable, Equatable {
        /// Per-poll samples ending before this go.
        public var samplesBefore: Int64
        /// Reasons for dropped samples recorded before this go (kept at least a day, also when samples are not kept).
        public var dropReasonsBefore: Int64
        /// Days starting before this (today's midnight) are closed and get packed.
        public var packBefore: Int64
        /// Packed days starting before this go from 5-minute to hourly buckets.
        public var hourlyBefore: Int64
        /// Days starting before this keep only their daily volumes.
        public var dailyBefore: Int64
        /// Days starting before this go entirely.
        public var forgetBefore: Int64
    }

    public func boundaries(now: Date) -> Boundaries {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let today = UTCTime.dayStart(seconds)
        return Boundaries(
            samplesBefore: seconds - Int64(rawSampleDays) * 86_400, dropReasonsBefore: seconds - Int64(max(rawSampleDays, 1)) * 86_400, packBefore: today, hourlyBefore: today - Int64(fiveMinuteDays) * 86_400,
            dailyBefore: today - Int64(hourlyDays) * 86_400, forgetBefore: today - Int64(dailyDays) * 86_400)
    }
}

/// What one retention run did.
public struct RetentionOutcome: Sendable, Equatable {
    /// Port-days whose 5-minute rows were packed (or added to an already packed day).
    public var packedPortDays = 0
    /// Packed port-days turned from 5-minute into hourly buckets.
    public var coarsenedPortDays = 0
    /// Port-days whose hourly buckets went, leaving their daily volumes.
    public var hourlyPortDaysDropped = 0
    /// Packed days that could not be read (a damaged database), each left as it was and named; the job went on with
    /// the others.
    public var unreadable: Set<UnreadableBandwidthDay> = []

    public init(packedPortDays: Int = 0, coarsenedPortDays: Int = 0, hourlyPortDaysDropped: Int = 0, unreadable: Set<UnreadableBandwidthDay> = []) {
        self.packedPortDays = packedPortDays
        self.coarsenedPortDays = coarsenedPortDays
        self.hourlyPortDaysDropped = hourlyPortDaysDropped
        self.unreadable = unreadable
    }
}

/// A packed day that cannot be read back (a damaged database): named, so the operator can find it.
public struct UnreadableBandwidthDay: Error, Sendable, Hashable, AgentErrorConvertible, CustomStringConvertible {
    public var deviceId: String
    public var ifIndex: Int
    public var day: Int64
    public var reason: PackedBandwidthDayError

    public var description: String { agentError.message }

    public var agentError: AgentError {
        AgentError(
            status: .internalError, code: "bandwidth_data_unreadable",
            message: "the stored bandwidth of device \(deviceId) port \(ifIndex) on \(UTCTime.day(day)) cannot be read: \(reason)",
            details: ["deviceId": .string(deviceId), "portId": .integer(Int64(ifIndex)), "day": .string(UTCTime.day(day))])
    }
}

extension BandwidthStore {
    /// Port-days handled per transaction when coarsening, so that the poller's writes wait for short transactions only.
    static let coarseningBatch = 500

    /// The retention job (the collector runs it hourly): drops per-poll samples past their days; packs every closed
    /// day's 5-minute rows into one ``PackedBandwidthDay`` per port (adding to the day when it was packed before, as a
    /// poll after a long gap can land in an old day); turns packed days past `fiveMinuteDays` into hourly buckets;
    /// drops hourly buckets past `hourlyDays` (their daily volumes stay); forgets everything past `dailyDays`. Each
    /// device-day is packed in its own transaction (rows written and deleted together), so a crash leaves every volume
    /// counted exactly once, and a rerun carries on.
    @discardableResult
    public func applyRetention(_ retention: BandwidthRetention, now: Date) async throws -> RetentionOutcome {
        let boundaries = retention.boundaries(now: now)
        var outcome = RetentionOutcome()
        try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM bandwidthSample WHERE endedAt < ?", arguments: [Date(timeIntervalSince1970: Double(boundaries.samplesBefore))])
            try db.execute(sql: "DELETE FROM bandwidthDrop WHERE at < ?", arguments: [Date(timeIntervalSince1970: Double(boundaries.dropReasonsBefore))])
            try db.execute(sql: "DELETE FROM bandwidthRollup WHERE bucket < ?", arguments: [boundaries.forgetBefore])
            try db.execute(sql: "DELETE FROM bandwidthSeries WHERE bucketSeconds IN (300, 3600) AND day < ?", arguments: [boundaries.forgetBefore])
            try db.execute(sql: "DELETE FROM bandwidthDay WHERE day < ?", arguments: [boundaries.forgetBefore])
        }
        let closed = try await database.writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT DISTINCT deviceId, bucket - bucket % 86400 AS day FROM bandwidthRollup WHERE bucket < ? ORDER BY deviceId, day",
                arguments: [boundaries.packBefore]
            ).map { (deviceId: $0[0] as String, day: $0[1] as Int64) }
        }
        for (deviceId, day) in closed {
            let (packed, unreadable) = try await database.writer.write { db in
                try Self.pack(db, deviceId: deviceId, day: day, keepsFinerForms: day >= boundaries.dailyBefore)
            }
            outcome.packedPortDays += packed
            outcome.unreadable.formUnion(unreadable)
        }
        let toCoarsen = try await database.writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM bandwidthSeries WHERE bucketSeconds = ? AND day < ?", arguments: [Self.bucketSeconds, boundaries.hourlyBefore]) ?? 0
        }
        // Page by key, so that a damaged day is read once and the loop ends after the last page.
        var after: SeriesKey?
        for _ in 0..<(toCoarsen / Self.coarseningBatch + 1) {
            let page = after
            let (coarsened, unreadable, last) = try await database.writer.write { db in
                try Self.coarsen(db, before: boundaries.hourlyBefore, after: page, limit: Self.coarseningBatch)
            }
            outcome.coarsenedPortDays += coarsened
            outcome.unreadable.formUnion(unreadable)
            guard let last else { break }
            after = last
        }
        outcome.hourlyPortDaysDropped = try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM bandwidthSeries WHERE bucketSeconds = 3600 AND day < ?", arguments: [boundaries.dailyBefore])
            return db.changesCount
        }
        return outcome
    }

    /// Packs one device's 5-minute rows of `day` into its ports' packed days and deletes the rows. The number of
    /// port-days written, and the packed days that could not be read to add late rows to (their rows stay). A day past
    /// the finer forms (`keepsFinerForms` false) keeps only its daily volume, which counted the rows already: they go.
    /// Each port is read by its own key range (a store upgraded with a year of rows is not scanned once per day).
    static func pack(_ db: Database, deviceId: String, day: Int64, keepsFinerForms: Bool) throws -> (packed: Int, unreadable: Set<UnreadableBandwidthDay>) {
        let deleteRows = try db.cachedStatement(sql: "DELETE FROM bandwidthRollup WHERE deviceId = ? AND ifIndex = ? AND bucket >= ? AND bucket < ?")
        // Every port with rows has a baseline: a delta is only taken against one.
        let ports = try Int.fetchAll(db, sql: "SELECT ifIndex FROM portBaseline WHERE deviceId = ?", arguments: [deviceId])
        guard keepsFinerForms else {
            for ifIndex in ports { try deleteRows.execute(arguments: [deviceId, ifIndex, day, day + 86_400]) }
            return (0, [])
        }
        let portRows = try db.cachedStatement(
            sql: "SELECT bucket, inOctets, outOctets FROM bandwidthRollup WHERE deviceId = ? AND ifIndex = ? AND bucket >= ? AND bucket < ?")
        let existing = try db.cachedStatement(sql: "SELECT ifIndex, day, bucketSeconds, data FROM bandwidthSeries WHERE deviceId = ? AND ifIndex = ? AND day = ?")
        let save = try db.cachedStatement(sql: "INSERT OR REPLACE INTO bandwidthSeries (deviceId, ifIndex, day, bucketSeconds, data) VALUES (?, ?, ?, ?, ?)")
        var packed = 0
        var unreadable: Set<UnreadableBandwidthDay> = []
        for ifIndex in ports {
            let rows = try Row.fetchAll(portRows, arguments: [deviceId, ifIndex, day, day + 86_400])
            guard !rows.isEmpty else { continue }
            var packedDay: PackedBandwidthDay
            do {
                packedDay = try Row.fetchOne(existing, arguments: [deviceId, ifIndex, day]).map { try unpack($0, deviceId: deviceId) }
                    ?? PackedBandwidthDay(day: day, bucketSeconds: bucketSeconds)
            } catch let damaged as UnreadableBandwidthDay {
                unreadable.insert(damaged)
                continue
            }
            for row in rows {
                let inOctets: Int64 = row[1]
                let outOctets: Int64 = row[2]
                packedDay.add(bucket: row[0], inOctets: UInt64(max(0, inOctets)), outOctets: UInt64(max(0, outOctets)))
            }
            try save.execute(arguments: [deviceId, ifIndex, day, packedDay.bucketSeconds, Data(packedDay.encoded())])
            try deleteRows.execute(arguments: [deviceId, ifIndex, day, day + 86_400])
            packed += 1
        }
        return (packed, unreadable)
    }

    /// Where a page of packed days ends: the order the retention job walks them in.
    struct SeriesKey: Sendable {
        var day: Int64
        var deviceId: String
        var ifIndex: Int
    }

    /// Turns up to `limit` packed 5-minute days older than `before` into hourly ones, in (day, device, port) order
    /// after `after`. How many it turned, the ones it could not read (left as they are), and the last key of a full
    /// page (nil when this was the last).
    static func coarsen(_ db: Database, before: Int64, after: SeriesKey?, limit: Int) throws -> (Int, Set<UnreadableBandwidthDay>, SeriesKey?) {
        var sql = "SELECT ifIndex, day, bucketSeconds, data, deviceId FROM bandwidthSeries WHERE bucketSeconds = ? AND day < ?"
        var arguments: StatementArguments = [bucketSeconds, before]
        if let after {
            sql += " AND (day, deviceId, ifIndex) > (?, ?, ?)"
            arguments += [after.day, after.deviceId, after.ifIndex]
        }
        sql += " ORDER BY day, deviceId, ifIndex LIMIT ?"
        arguments += [limit]
        let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
        let save = try db.cachedStatement(sql: "UPDATE bandwidthSeries SET bucketSeconds = 3600, data = ? WHERE deviceId = ? AND ifIndex = ? AND day = ?")
        var coarsened = 0
        var unreadable: Set<UnreadableBandwidthDay> = []
        for row in rows {
            let deviceId: String = row[4]
            do {
                let hourly = try unpack(row, deviceId: deviceId).coarsened(to: 3600)
                try save.execute(arguments: [Data(hourly.encoded()), deviceId, row[0] as Int, row[1] as Int64])
                coarsened += 1
            } catch let damaged as UnreadableBandwidthDay {
                unreadable.insert(damaged)
            }
        }
        let last = rows.count < limit ? nil : rows.last.map { SeriesKey(day: $0[1], deviceId: $0[4], ifIndex: $0[0]) }
        return (coarsened, unreadable, last)
    }

    /// A `bandwidthSeries` row (ifIndex, day, bucketSeconds, data) read back.
    static func unpack(_ row: Row, deviceId: String) throws -> PackedBandwidthDay {
        let ifIndex: Int = row[0]
        let day: Int64 = row[1]
        let data: Data = row[3]
        do {
            return try PackedBandwidthDay(decoding: [UInt8](data), day: day, bucketSeconds: row[2])
        } catch {
            throw UnreadableBandwidthDay(deviceId: deviceId, ifIndex: ifIndex, day: day, reason: error)
        }
    }
}
