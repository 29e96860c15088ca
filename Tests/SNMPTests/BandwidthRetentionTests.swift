import AgentCore
import Foundation
import GRDB
import Logging
import PeerHarness
import SNMP
import Testing

@Suite struct PackedBandwidthDayTests {
    static let day: Int64 = 1_800_000_000 - 1_800_000_000 % 86_400

    @Test func aPackedDayReadsBackExactlyWithMeasuredZerosAndGaps() throws {
        var packed = PackedBandwidthDay(day: Self.day, bucketSeconds: 300)
        packed.add(bucket: Self.day, inOctets: 0, outOctets: 0)  // measured, nothing moved
        packed.add(bucket: Self.day + 300, inOctets: 37_499_999_999, outOctets: 127)
        packed.add(bucket: Self.day + 300, inOctets: 1, outOctets: 1)  // a second share of the same bucket adds up
        packed.add(bucket: Self.day + 86_100, inOctets: UInt64.max, outOctets: 1 << 63)
        let bytes = packed.encoded()
        let read = try PackedBandwidthDay(decoding: bytes, day: Self.day, bucketSeconds: 300)
        #expect(read == packed)
        let rollups = read.rollups(ifIndex: 7)
        #expect(rollups.map(\.bucket) == [Self.day, Self.day + 300, Self.day + 86_100], "an unmeasured bucket stays absent")
        #expect(rollups[0].inOctets == 0 && rollups[1].inOctets == 37_500_000_000 && rollups[1].outOctets == 128)
        #expect(rollups[2].inOctets == UInt64.max && rollups.allSatisfy { $0.ifIndex == 7 && $0.seconds == 300 })
        // Version, a 36-byte bitmap, then varints: 2 + (6 + 2) + (10 + 10).
        #expect(bytes.count == 1 + 36 + 2 + 8 + 20)

        // Hourly buckets are the sums of the 5-minute ones inside them; an hour without a measured bucket stays absent.
        let hourly = packed.coarsened(to: 3600)
        #expect(hourly.rollups(ifIndex: 7).map { [$0.bucket, $0.seconds] } == [[Self.day, 3600], [Self.day + 82_800, 3600]])
        #expect(hourly.rollups(ifIndex: 7)[0].inOctets == 37_500_000_000 && hourly.rollups(ifIndex: 7)[0].outOctets == 128)

        // Damaged bytes are refused, never read as other numbers.
        #expect(throws: PackedBandwidthDayError.truncated) { try PackedBandwidthDay(decoding: Array(bytes.dropLast()), day: Self.day, bucketSeconds: 300) }
        #expect(throws: PackedBandwidthDayError.trailingBytes(1)) { try PackedBandwidthDay(decoding: bytes + [0], day: Self.day, bucketSeconds: 300) }
        #expect(throws: PackedBandwidthDayError.unknownVersion(9)) { try PackedBandwidthDay(decoding: [9] + bytes.dropFirst(), day: Self.day, bucketSeconds: 300) }
        #expect(throws: PackedBandwidthDayError.truncated) { try PackedBandwidthDay(decoding: [], day: Self.day, bucketSeconds: 300) }
        var overlong: [UInt8] = [1, 1] + [UInt8](repeating: 0, count: 35)
        overlong += [UInt8](repeating: 0xFF, count: 10) + [0x7F, 0]
        #expect(throws: PackedBandwidthDayError.overlongNumber) { try PackedBandwidthDay(decoding: overlong, day: Self.day, bucketSeconds: 300) }
        #expect(throws: PackedBandwidthDayError.notWholeBuckets(day: Self.day + 1, bucketSeconds: 300)) {
            try PackedBandwidthDay(decoding: bytes, day: Self.day + 1, bucketSeconds: 300)
        }
    }

    @Test func theRetentionSettingsKeepTheFiveMinuteBucketsThePercentileNeeds() throws {
        var configuration = AgentConfiguration()
        try configuration.validate()
        configuration.snmp.fiveMinuteRetentionDays = 30
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration.snmp.fiveMinuteRetentionDays = 40
        configuration.snmp.hourlyRetentionDays = 35
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        // A history kept shorter than the finer forms (a configuration from before they existed) caps them.
        configuration.snmp.hourlyRetentionDays = 500
        try configuration.validate()
        #expect(BandwidthRetention(configuration.snmp) == BandwidthRetention(rawSampleDays: 0, fiveMinuteDays: 40, hourlyDays: 400, dailyDays: 400))
        configuration = AgentConfiguration()
        configuration.snmp.rollupRetentionDays = 20
        try configuration.validate()
        #expect(BandwidthRetention(configuration.snmp) == BandwidthRetention(rawSampleDays: 0, fiveMinuteDays: 20, hourlyDays: 20, dailyDays: 20))
        configuration.snmp.rollupRetentionDays = 0
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
    }
}

@Suite struct BandwidthRetentionTests {
    /// Noon, so that the history's first and last days are partial.
    static let now = Date(timeIntervalSince1970: TimeInterval(PackedBandwidthDayTests.day + 43_200))
    static let today = PackedBandwidthDayTests.day
    static let retention = BandwidthRetention(rawSampleDays: 3, fiveMinuteDays: 32, hourlyDays: 35, dailyDays: 400)

    /// Hourly polls of ports 1 and 2 for `days` days up to `now`: each poll's delta is spread over its twelve 5-minute
    /// buckets by the store. The rate changes every hour, so that the percentiles and the hourly sums are not uniform.
    static func hourlyPolls(_ fixture: SNMPFixture, deviceId: String, days: Int) async throws {
        var counters: [UInt64] = [1_000, 5_000]
        let first = now.addingTimeInterval(-Double(days) * 86_400)
        for hour in 0...(days * 24) {
            if hour > 0 {
                counters[0] += UInt64(hour % 7 + 1) * 450_000_000 + UInt64(hour % 3) * 12_345
                counters[1] += UInt64(hour % 11) * 90_000_001
            }
            let ports = counters.enumerated().map { PortCounters(ifIndex: $0.offset + 1, inOctets: $0.element, outOctets: $0.element / 3, width: .bits64, speedMbps: 1000) }
            try await fixture.service.bandwidth.record(
                DevicePoll(deviceId: deviceId, time: first.addingTimeInterval(Double(hour) * 3600), sysUpTime: UInt32(100 + hour * 360_000), width: .bits64, ports: ports))
        }
    }

    static func rowsLeft(_ fixture: SNMPFixture) async throws -> (count: Int, oldest: Int64?) {
        try await fixture.database.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bandwidthRollup") ?? 0, try Int64.fetchOne(db, sql: "SELECT MIN(bucket) FROM bandwidthRollup"))
        }
    }

    /// Each rollup's bucket and volumes summed per `seconds`-long period.
    static func sums(_ rollups: [BandwidthStore.Rollup], per seconds: Int64) -> [Int64: [UInt64]] {
        var sums: [Int64: [UInt64]] = [:]
        for rollup in rollups {
            let start = rollup.bucket - rollup.bucket % seconds
            let sum = sums[start] ?? [0, 0]
            sums[start] = [sum[0] + rollup.inOctets, sum[1] + rollup.outOctets]
        }
        return sums
    }

    @Test func consolidationKeepsEveryVolumeAndTheThirtyDayAnswers() async throws {
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(["id": "sw1", "deviceType": "snmp_switch", "name": "sw1", "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "x"])
        let start = Self.now.addingTimeInterval(-40 * 86_400)
        try await fixture.service.assignments.set(deviceId: "sw1", portId: 1, [PortAssignment(type: "server", relId: 7)], at: start)
        try await fixture.service.assignments.set(deviceId: "sw1", portId: 2, [PortAssignment(type: "server", relId: 7)], at: start)
        try await Self.hourlyPolls(fixture, deviceId: "sw1", days: 40)
        let store = fixture.service.bandwidth
        let range = (from: start.addingTimeInterval(-86_400), to: Self.now.addingTimeInterval(3600))
        let before = try await store.rollups(deviceId: "sw1", ports: [], from: range.from, to: range.to)
        let trafficBefore = try await fixture.service.serverTraffic(7, now: Self.now)
        let portBefore = BandwidthStatistics.trafficStatistics(before.filter { $0.ifIndex == 1 }, now: Self.now)
        #expect(before.count == 2 * 40 * 288 && before.allSatisfy { $0.seconds == 300 })

        let outcome = try await store.applyRetention(Self.retention, now: Self.now)
        // 41 calendar days hold the history (its first and last are halves). The 35 closed ones after today − 35 days are
        // packed per port; the 5 before keep their daily volumes only (their rows go, never packed).
        #expect(outcome.packedPortDays == 2 * 35)
        // Packed days before today − 32 days become hourly.
        #expect(outcome.coarsenedPortDays == 2 * 3 && outcome.hourlyPortDaysDropped == 0)
        let rows = try await Self.rowsLeft(fixture)
        #expect(rows.count == 2 * 144 && rows.oldest == Self.today, "only the open day stays in rows")

        let after = try await store.rollups(deviceId: "sw1", ports: [], from: range.from, to: range.to)
        let fiveMinuteSince = Self.today - 32 * 86_400
        let hourlySince = Self.today - 35 * 86_400
        // The newest 32 days and today: the same 5-minute buckets.
        #expect(after.filter { $0.bucket >= fiveMinuteSince } == before.filter { $0.bucket >= fiveMinuteSince })
        // Three days of hourly buckets, each the sum of its twelve.
        for port in [1, 2] {
            let hourly = after.filter { $0.ifIndex == port && $0.bucket >= hourlySince && $0.bucket < fiveMinuteSince }
            #expect(hourly.count == 3 * 24 && hourly.allSatisfy { $0.seconds == 3600 })
            let expected = Self.sums(before.filter { $0.ifIndex == port && $0.bucket >= hourlySince && $0.bucket < fiveMinuteSince }, per: 3600)
            #expect(Dictionary(uniqueKeysWithValues: hourly.map { ($0.bucket, [$0.inOctets, $0.outOctets]) }) == expected)
            // The five older days (the first a half): one exact daily volume each.
            let daily = after.filter { $0.ifIndex == port && $0.bucket < hourlySince }
            #expect(daily.allSatisfy { $0.seconds == 86_400 } && daily.count == 5)
            let expectedDaily = Self.sums(before.filter { $0.ifIndex == port && $0.bucket < hourlySince && $0.bucket >= daily.first!.bucket }, per: 86_400)
            #expect(Dictionary(uniqueKeysWithValues: daily.map { ($0.bucket, [$0.inOctets, $0.outOctets]) }) == expectedDaily)
        }
        // Every volume the operator asks for is unchanged: by day, by month, the summaries and the server's traffic.
        for grouping in [StatisticsRequest.Grouping.day, .month] {
            #expect(BandwidthStatistics.text(after.filter { $0.ifIndex == 1 }, grouping: grouping) == BandwidthStatistics.text(before.filter { $0.ifIndex == 1 && $0.bucket >= after.first!.bucket }, grouping: grouping))
        }
        #expect(BandwidthStatistics.trafficStatistics(after.filter { $0.ifIndex == 1 }, now: Self.now) == portBefore)
        let trafficAfter = try await fixture.service.serverTraffic(7, now: Self.now)
        #expect(trafficAfter.trafficStatistics == trafficBefore.trafficStatistics && trafficAfter.lastBwrate == trafficBefore.lastBwrate)
        // A graph over hourly history draws hourly points at the hour's own rate.
        let point = try #require(BandwidthStatistics.graph(after.filter { $0.ifIndex == 1 && $0.bucket == hourlySince }, grouping: .fiveMinutes).first)
        let hourSum = Self.sums(before.filter { $0.ifIndex == 1 && $0.bucket >= hourlySince && $0.bucket < hourlySince + 3600 }, per: 3600)[hourlySince]!
        #expect(point["in"] == .double(Double(hourSum[0]) * 8 / 3600))

        // A range ending inside the open day reads its 5-minute rows up to there, not the day's volume.
        let morning = try await store.rollups(
            deviceId: "sw1", ports: [1], from: Date(timeIntervalSince1970: Double(Self.today + 3600)), to: Self.now.addingTimeInterval(-7200))
        #expect(morning.count == 9 * 12 && morning.allSatisfy { $0.seconds == 300 }, "\(morning.count)")

        // A second run finds nothing to do and changes nothing.
        #expect(try await store.applyRetention(Self.retention, now: Self.now) == RetentionOutcome())
        #expect(try await store.rollups(deviceId: "sw1", ports: [], from: range.from, to: range.to) == after)
        // One port's query reads that port only.
        #expect(try await store.rollups(deviceId: "sw1", ports: [2], from: range.from, to: range.to) == after.filter { $0.ifIndex == 2 })
    }

    @Test func aPollAfterALongGapAddsToAnAlreadyPackedDay() async throws {
        var settings = SNMPConfiguration()
        settings.rawSampleRetentionDays = 1
        let fixture = try SNMPFixture(settings: settings)
        defer { Task { await fixture.close() } }
        try await fixture.register(["id": "sw2", "deviceType": "snmp_switch", "name": "sw2", "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "x"])
        let store = fixture.service.bandwidth
        let twoDaysAgo = Double(Self.today - 2 * 86_400)
        func poll(_ seconds: Double, _ octets: UInt64) async throws {
            try await store.record(
                DevicePoll(
                    deviceId: "sw2", time: Date(timeIntervalSince1970: seconds), sysUpTime: UInt32(seconds - twoDaysAgo) * 100 + 100, width: .bits64,
                    ports: [PortCounters(ifIndex: 1, inOctets: octets, outOctets: octets, width: .bits64, speedMbps: 1000)]))
        }
        try await poll(twoDaysAgo + 22 * 3600, 0)
        try await poll(twoDaysAgo + 23 * 3600, 3_600_000)
        #expect(try await store.applyRetention(Self.retention, now: Self.now).packedPortDays == 1)
        // The device then goes quiet until 01:00 today: 26 hours spread over three days, one of them packed.
        try await poll(Double(Self.today) + 3600, 3_600_000 + 26 * 3_600_000)
        let range = (from: Date(timeIntervalSince1970: twoDaysAgo), to: Self.now)
        let read = try await store.rollups(deviceId: "sw2", ports: [1], from: range.from, to: range.to)
        #expect(read.reduce(0) { $0 + $1.inOctets } == 27 * 3_600_000, "the packed day and its late rows count once each")
        #expect(read.filter { $0.bucket < Int64(twoDaysAgo) + 86_400 }.reduce(0) { $0 + $1.inOctets } == 2 * 3_600_000)
        #expect(Set(read.map(\.bucket)).count == read.count, "a late row is added into its packed bucket, not listed beside it")
        // The next run packs the late rows into their days; the answers stay the same.
        #expect(try await store.applyRetention(Self.retention, now: Self.now).packedPortDays == 2)
        #expect(try await store.rollups(deviceId: "sw2", ports: [1], from: range.from, to: range.to) == read)
        #expect(try await Self.rowsLeft(fixture).oldest == Self.today)

        // Per-poll samples are kept when asked for, the newest one is the port's last rate.
        let samples = try await fixture.database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bandwidthSample") }
        #expect(samples == 2)
        let last = try #require(try await store.lastSamples(deviceId: "sw2", ports: [1])[1])
        #expect(last.inOctets == 26 * 3_600_000 && last.startedAt == Date(timeIntervalSince1970: twoDaysAgo + 23 * 3600))
        // Every day down to its daily volume; then a poll after two quiet days lands in one of them. Until the job
        // packs the late rows, the day still reads as its whole volume (which counted them), not as the late part.
        let dailyOnly = BandwidthRetention(rawSampleDays: 1, fiveMinuteDays: 31, hourlyDays: 31, dailyDays: 400)
        let down = try await store.applyRetention(dailyOnly, now: Self.now.addingTimeInterval(34 * 86_400))
        #expect(down.hourlyPortDaysDropped == 2 && down.packedPortDays == 0 && down.unreadable.isEmpty, "\(down)")
        try await poll(Double(Self.today) + 2 * 86_400 + 3600, 3_600_000 + 74 * 3_600_000)
        let wholeDays = try await store.rollups(deviceId: "sw2", ports: [1], from: range.from, to: Self.now.addingTimeInterval(3 * 86_400))
        let todayVolume = try #require(wholeDays.first { $0.bucket == Self.today })
        #expect(todayVolume.seconds == 86_400 && todayVolume.inOctets == 24 * 3_600_000, "\(wholeDays)")
        #expect(wholeDays.reduce(0) { $0 + $1.inOctets } == 75 * 3_600_000)

        // Past the daily retention, everything goes.
        let shortRetention = BandwidthRetention(rawSampleDays: 1, fiveMinuteDays: 31, hourlyDays: 31, dailyDays: 31)
        _ = try await store.applyRetention(shortRetention, now: Self.now.addingTimeInterval(40 * 86_400))
        #expect(try await store.rollups(deviceId: "sw2", ports: [1], from: range.from, to: range.to).isEmpty)
        let left = try await fixture.database.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT (SELECT COUNT(*) FROM bandwidthSeries) + (SELECT COUNT(*) FROM bandwidthDay) + (SELECT COUNT(*) FROM bandwidthSample)")
        }
        #expect(left == 0)
    }

    @Test func aDamagedPackedDayIsNamedNotMisread() async throws {
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(["id": "sw3", "deviceType": "snmp_switch", "name": "sw3", "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "x"])
        try await Self.hourlyPolls(fixture, deviceId: "sw3", days: 2)
        try await fixture.service.bandwidth.applyRetention(Self.retention, now: Self.now)
        let damagedDay = Self.today - 86_400
        try await fixture.database.writer.write { db in
            try db.execute(sql: "UPDATE bandwidthSeries SET data = substr(data, 1, 20) WHERE ifIndex = 2 AND day = ?", arguments: [damagedDay])
        }
        do {
            _ = try await fixture.service.bandwidth.rollups(deviceId: "sw3", ports: [2], from: Self.now.addingTimeInterval(-3 * 86_400), to: Self.now)
            Issue.record("a damaged day was read")
        } catch {
            let agentError = AgentError.from(error)
            #expect(agentError.code == "bandwidth_data_unreadable" && agentError.details["portId"] == 2)
            #expect(agentError.message.contains("sw3") && agentError.message.contains(UTCTime.day(damagedDay)), "\(agentError.message)")
        }
        // The other port still reads.
        #expect(try await fixture.service.bandwidth.rollups(deviceId: "sw3", ports: [1], from: Self.now.addingTimeInterval(-3 * 86_400), to: Self.now).count == 2 * 288)
        // The job names the damaged day, leaves it, and goes on with every other one.
        let later = try await fixture.service.bandwidth.applyRetention(Self.retention, now: Self.now.addingTimeInterval(40 * 86_400))
        #expect(later.unreadable.map { "\($0.deviceId)/\($0.ifIndex)/\($0.day)" } == ["sw3/2/\(damagedDay)"], "\(later)")
        #expect(later.packedPortDays == 0 && later.coarsenedPortDays == 3 && later.hourlyPortDaysDropped == 3, "\(later)")
        let hours = try await fixture.service.bandwidth.rollups(deviceId: "sw3", ports: [1], from: Self.now.addingTimeInterval(-3 * 86_400), to: Self.now)
        #expect(hours.count == 3 && hours.allSatisfy { $0.seconds == 86_400 }, "port 1's three days are down to their daily volumes")
    }
}

/// A store written before consolidation existed (daily volumes by text day, rows for every 5-minute bucket, the last
/// rate only in per-poll samples) reads the same after the migration.
@Suite struct BandwidthCompactMigrationTests {
    @Test func anOlderStoreKeepsItsHistoryAndLastRates() async throws {
        let directory = try TemporaryDirectory(prefix: "bandwidth-migration")
        defer { directory.remove() }
        let path = directory.file("agent.sqlite")
        let older = Array(SNMPSchema.migrations.prefix { $0.identifier != "snmp.bandwidthCompact.v1" })
        #expect(older.count == SNMPSchema.migrations.count - 1)
        do {
            let database = try AgentDatabase(path: path, migrations: older)
            try await database.writer.write { db in
                try db.execute(sql: "INSERT INTO networkDevice (id, document, createdAt, updatedAt) VALUES ('sw', '{}', '2026-01-01', '2026-01-01')")
                try db.execute(sql: "INSERT INTO bandwidthRollup VALUES ('sw', 1, 1800000000, 10, 20), ('sw', 1, 1800000300, 30, 40)")
                try db.execute(sql: "INSERT INTO bandwidthDaily VALUES ('sw', 1, '2027-01-15', 40, 60)")
                try db.execute(sql: "INSERT INTO portCounterTotal VALUES ('sw', 1, 40, 60, 1800000600)")
                try db.execute(
                    sql: """
                        INSERT INTO bandwidthSample (deviceId, ifIndex, startedAt, endedAt, inOctets, outOctets) VALUES
                        ('sw', 1, '2027-01-15 08:00:00.000', '2027-01-15 08:05:00.000', 10, 20), ('sw', 1, '2027-01-15 08:05:00.500', '2027-01-15 08:10:00.000', 30, 40)
                        """)
            }
        }
        let database = try AgentDatabase(path: path, migrations: SNMPSchema.migrations)
        let outbox = Outbox(database: database, maximumEvents: 10, logger: Logger(label: "test"))
        let store = BandwidthStore(database: database, outbox: outbox)
        let from = Date(timeIntervalSince1970: 1_799_900_000)
        let to = Date(timeIntervalSince1970: 1_800_100_000)
        let rollups = try await store.rollups(deviceId: "sw", ports: [1], from: from, to: to)
        #expect(rollups == [
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_000, inOctets: 10, outOctets: 20),
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_300, inOctets: 30, outOctets: 40),
        ])
        let daily = try await database.writer.read { db in try Row.fetchOne(db, sql: "SELECT day, inOctets FROM bandwidthDay") }
        #expect(daily?[0] == UTCTime.dayStart(1_800_000_000) && daily?[1] == 40)
        let last = try #require(try await store.lastSamples(deviceId: "sw")[1])
        #expect(last.inOctets == 30 && last.outOctets == 40)
        // 1,800,000,000 is 2027-01-15 08:00:00 UTC; the newest sample keeps its milliseconds.
        #expect(abs(last.startedAt.timeIntervalSince1970 - 1_800_000_300.5) < 0.001 && abs(last.endedAt.timeIntervalSince1970 - 1_800_000_600) < 0.001)
    }
}
