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
    /// `rollupRetentionDays`).
    public init(_ settings: SNMPConfiguration) {
        self.init(
            rawSampleDays: settings.rawSampleRetentionDays, fiveMinuteDays: settings.fiveMinuteRetentionDays, hourlyDays: settings.hourlyRetentionDays,
            dailyDays: settings.rollupRetentionDays)
    }

    /// The boundaries as of `now`, in seconds since 1970: what is older than each goes to the next form.
    public struct Boundaries: Sendable, Equatable {
        /// Per-poll samples and drop reasons ending before this go.
        public var samplesBefore: Int64
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
            samplesBefore: seconds - Int64(rawSampleDays) * 86_400, packBefore: today, hourlyBefore: today - Int64(fiveMinuteDays) * 86_400,
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

    public init(packedPortDays: Int = 0, coarsenedPortDays: Int = 0, hourlyPortDaysDropped: Int = 0) {
        self.packedPortDays = packedPortDays
        self.coarsenedPortDays = coarsenedPortDays
        self.hourlyPortDaysDropped = hourlyPortDaysDropped
    }
}

/// A packed day that cannot be read back (a damaged database): named, so the operator can find it.
public struct UnreadableBandwidthDay: Error, Sendable, AgentErrorConvertible, CustomStringConvertible {
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
            try db.execute(sql: "DELETE FROM bandwidthDrop WHERE at < ?", arguments: [Date(timeIntervalSince1970: Double(boundaries.samplesBefore))])
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
            outcome.packedPortDays += try await database.writer.write { db in try Self.pack(db, deviceId: deviceId, day: day) }
        }
        let toCoarsen = try await database.writer.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM bandwidthSeries WHERE bucketSeconds = ? AND day < ?", arguments: [Self.bucketSeconds, boundaries.hourlyBefore]) ?? 0
        }
        for _ in 0..<(toCoarsen / Self.coarseningBatch + 1) {
            let coarsened = try await database.writer.write { db in try Self.coarsen(db, before: boundaries.hourlyBefore, limit: Self.coarseningBatch) }
            outcome.coarsenedPortDays += coarsened
            if coarsened < Self.coarseningBatch { break }
        }
        outcome.hourlyPortDaysDropped = try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM bandwidthSeries WHERE bucketSeconds = 3600 AND day < ?", arguments: [boundaries.dailyBefore])
            return db.changesCount
        }
        return outcome
    }

    /// Packs one device's 5-minute rows of `day` into its ports' packed days and deletes the rows. The number of
    /// port-days written.
    static func pack(_ db: Database, deviceId: String, day: Int64) throws -> Int {
        var days: [Int: PackedBandwidthDay] = [:]
        let rows = try Row.fetchAll(
            db, sql: "SELECT ifIndex, bucket, inOctets, outOctets FROM bandwidthRollup WHERE deviceId = ? AND bucket >= ? AND bucket < ?",
            arguments: [deviceId, day, day + 86_400])
        let existing = try db.cachedStatement(sql: "SELECT ifIndex, day, bucketSeconds, data FROM bandwidthSeries WHERE deviceId = ? AND ifIndex = ? AND day = ?")
        for row in rows {
            let ifIndex: Int = row[0]
            if days[ifIndex] == nil {
                days[ifIndex] = try Row.fetchOne(existing, arguments: [deviceId, ifIndex, day]).map { try unpack($0, deviceId: deviceId) }
                    ?? PackedBandwidthDay(day: day, bucketSeconds: bucketSeconds)
            }
            let inOctets: Int64 = row[2]
            let outOctets: Int64 = row[3]
            days[ifIndex]!.add(bucket: row[1], inOctets: UInt64(max(0, inOctets)), outOctets: UInt64(max(0, outOctets)))
        }
        let save = try db.cachedStatement(sql: "INSERT OR REPLACE INTO bandwidthSeries (deviceId, ifIndex, day, bucketSeconds, data) VALUES (?, ?, ?, ?, ?)")
        for (ifIndex, packed) in days {
            try save.execute(arguments: [deviceId, ifIndex, day, packed.bucketSeconds, Data(packed.encoded())])
        }
        try db.execute(sql: "DELETE FROM bandwidthRollup WHERE deviceId = ? AND bucket >= ? AND bucket < ?", arguments: [deviceId, day, day + 86_400])
        return days.count
    }

    /// Turns up to `limit` packed 5-minute days older than `before` into hourly ones. How many it turned.
    static func coarsen(_ db: Database, before: Int64, limit: Int) throws -> Int {
        let rows = try Row.fetchAll(
            db, sql: "SELECT ifIndex, day, bucketSeconds, data, deviceId FROM bandwidthSeries WHERE bucketSeconds = ? AND day < ? LIMIT ?",
            arguments: [bucketSeconds, before, limit])
        let save = try db.cachedStatement(sql: "UPDATE bandwidthSeries SET bucketSeconds = 3600, data = ? WHERE deviceId = ? AND ifIndex = ? AND day = ?")
        for row in rows {
            let deviceId: String = row[4]
            let hourly = try unpack(row, deviceId: deviceId).coarsened(to: 3600)
            try save.execute(arguments: [Data(hourly.encoded()), deviceId, row[0] as Int, row[1] as Int64])
        }
        return rows.count
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
