import AgentCore
import Foundation
import SNMP
import Testing

@Suite struct StatisticsTests {
    @Test func trafficStatisticsShapeAndUnits() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        // 100 buckets: bucket k carries k * 375000 octets in (= k * 10 kbit/s ... k Mbit/s over 300 s / 100).
        let rollups = (1...100).map { k in
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_000 - Int64(k) * 300, inOctets: UInt64(k) * 375_000, outOctets: 37_500_000)
        }
        let summary = BandwidthStatistics.trafficStatistics(rollups, now: now)
        // In: k * 375000 * 8 / 300 / 1e6 = k * 0.01 Mbit/s; 95th of 1...100 is 95 → 0.95.
        #expect(summary["95th_in_30d"] == "0.95")
        // Out: constant 37.5 MB per bucket = 1 Mbit/s.
        #expect(summary["95th_out_30d"] == "1.00")
        // Total: k*0.01 + 1 → 95th is 1.95.
        #expect(summary["95th_total_30d"] == "1.95")
        // 1 day = 288 buckets, all 100 fall inside: in = 375000 * 5050 = 1.89375e9, out = 3.75e9 → 5.64 GB.
        #expect(summary["1d"] == "5.64")
        #expect(summary["30d"] == "5.64")
    }

    @Test func graphAndTextRows() {
        let rollups = [
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_000, inOctets: 3_750_000, outOctets: 0),
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_300, inOctets: 7_500_000, outOctets: 375_000),
        ]
        let points = BandwidthStatistics.graph(rollups, grouping: .fiveMinutes)
        #expect(points.count == 2)
        #expect(points[0]["in"] == .double(100_000))
        #expect(points[1]["out"] == .double(10_000))
        #expect(points[0]["time"] == .string(BandwidthStatistics.timestamp(1_800_000_000)))
        let days = BandwidthStatistics.text(rollups, grouping: .day)
        #expect(days.count == 1)
        #expect(days[0]["total"] == .integer(11_625_000))
        #expect(days[0]["period"]?.stringValue?.count == 10)
        #expect(BandwidthStatistics.text(rollups, grouping: .month)[0]["period"]?.stringValue?.count == 7)
        #expect(BandwidthStatistics.parseTimestamp("2024-08-02 09:12:27") != nil)
        #expect(BandwidthStatistics.parseTimestamp("2024-08-02") != nil)
        #expect(BandwidthStatistics.parseTimestamp("yesterday") == nil)
    }

    @Test func lastRateInMegabits() {
        let sample = PollOutcome.Sample(portId: 1, inOctets: 7_500_000, outOctets: 750_000, startedAt: Date(timeIntervalSince1970: 0), endedAt: Date(timeIntervalSince1970: 60))
        #expect(BandwidthStatistics.lastRate(sample) == ["in": "1.00", "out": "0.10"])
    }
}
