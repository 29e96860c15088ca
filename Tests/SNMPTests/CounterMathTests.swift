import Foundation
import SNMP
import Testing

@Suite struct CounterMathTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func baseline(_ inOctets: UInt64, _ outOctets: UInt64, width: CounterWidth = .bits64, speed: UInt64 = 1000, uptime: UInt32 = 100_000, discontinuity: UInt64? = nil, present: Bool = true) -> PortBaseline {
        PortBaseline(
            counters: PortCounters(ifIndex: 1, inOctets: inOctets, outOctets: outOctets, width: width, speedMbps: speed, discontinuityTime: discontinuity),
            time: start, sysUpTime: uptime, present: present)
    }

    func reading(_ inOctets: UInt64, _ outOctets: UInt64, width: CounterWidth = .bits64, speed: UInt64 = 1000, discontinuity: UInt64? = nil) -> PortCounters {
        PortCounters(ifIndex: 1, inOctets: inOctets, outOctets: outOctets, width: width, speedMbps: speed, discontinuityTime: discontinuity)
    }

    @Test func modularDifference() {
        #expect(CounterMath.difference(from: 100, to: 350, width: .bits64) == 250)
        // 64-bit wrap: 2^64 - 1000 → 4000 is 5000 octets.
        #expect(CounterMath.difference(from: UInt64.max - 999, to: 4000, width: .bits64) == 5000)
        // 32-bit wrap: 4294967000 → 704 is 296 + 704 = 1000 octets.
        #expect(CounterMath.difference(from: 4_294_967_000, to: 704, width: .bits32) == 1000)
        #expect(CounterMath.difference(from: 5, to: 5, width: .bits32) == 0)
    }

    @Test func firstSightIsABaseline() {
        #expect(CounterMath.decide(previous: nil, current: reading(1, 2), time: start, sysUpTime: 1) == .baseline)
    }

    @Test func deltaOverSixtySeconds() {
        let decision = CounterMath.decide(previous: baseline(1_000, 2_000), current: reading(61_000, 32_000), time: start + 60, sysUpTime: 106_000)
        #expect(decision == .delta(inOctets: 60_000, outOctets: 30_000, seconds: 60))
    }

    @Test func discontinuitiesDropTheSample() {
        let later = start + 60
        #expect(CounterMath.decide(previous: baseline(10, 10), current: reading(20, 20), time: later, sysUpTime: 500)
            == .dropped(reason: "device restarted (sysUpTime went backwards)"))
        #expect(CounterMath.decide(previous: baseline(10, 10, discontinuity: 5), current: reading(20, 20, discontinuity: 9), time: later, sysUpTime: 106_000)
            == .dropped(reason: "ifCounterDiscontinuityTime changed"))
        #expect(CounterMath.decide(previous: baseline(10, 10, present: false), current: reading(20, 20), time: later, sysUpTime: 106_000)
            == .dropped(reason: "port disappeared and came back"))
        #expect(CounterMath.decide(previous: baseline(10, 10, width: .bits32), current: reading(20, 20), time: later, sysUpTime: 106_000)
            == .dropped(reason: "counter width changed"))
        #expect(CounterMath.decide(previous: baseline(10, 10), current: reading(20, 20), time: start, sysUpTime: 106_000)
            == .dropped(reason: "no time elapsed since the previous poll"))
        // A clock that jumped (or an agent that stood still for months): not spread over every bucket in between.
        #expect(CounterMath.decide(previous: baseline(10, 10), current: reading(20, 20), time: start + 3 * 365 * 86_400, sysUpTime: 106_000)
            == .dropped(reason: "the previous reading is 1095 days old (more than 30)"))
        #expect(CounterMath.decide(previous: baseline(10, 10), current: reading(20, 20), time: start + 29 * 86_400, sysUpTime: 250_660_000)
            == .delta(inOctets: 10, outOctets: 10, seconds: 29 * 86_400), "a reading 29 days old is still a sample")
    }

    @Test func rateAboveLinkSpeedIsASpikeNotTraffic() {
        // 1000 Mbit/s for 60 s is 7.5e9 octets; 1.1x is 8.25e9.
        let ok = CounterMath.decide(previous: baseline(0, 0), current: reading(8_000_000_000, 0), time: start + 60, sysUpTime: 106_000)
        #expect(ok == .delta(inOctets: 8_000_000_000, outOctets: 0, seconds: 60))
        let spike = CounterMath.decide(previous: baseline(0, 0), current: reading(8_300_000_000, 0), time: start + 60, sysUpTime: 106_000)
        #expect(spike == .dropped(reason: "rate above 1.1x ifHighSpeed (1000 Mbit/s)"))
        // Unknown speed: no check.
        let unknown = CounterMath.decide(previous: baseline(0, 0, speed: 0), current: reading(9_000_000_000, 0, speed: 0), time: start + 60, sysUpTime: 106_000)
        #expect(unknown == .delta(inOctets: 9_000_000_000, outOctets: 0, seconds: 60))
    }

    /// A delta of nearly 2^64 octets (a 64-bit wrap) inside one bucket: spread exactly, no trap converting 2^64 back to an
    /// integer (the input the counter-math fuzz target found, kept in Tests/Fuzz/Regressions/counter-math).
    @Test func aNearlyFullSixtyFourBitDeltaIsApportionedExactly() {
        let from = Date(timeIntervalSince1970: 1_800_000_010)
        let parts = CounterMath.apportion(UInt64.max - 1, from: from, to: from + 60, bucketSeconds: 300)
        #expect(parts.count == 1 && parts.first?.octets == UInt64.max - 1)
        let split = CounterMath.apportion(UInt64.max, from: from, to: from + 600, bucketSeconds: 300)
        #expect(split.map(\.octets).reduce(0, &+) == UInt64.max && split.count == 3)
    }

    /// Without a known speed, a 64-bit counter that goes down is a reset, not 2^64 octets of traffic; with a speed the
    /// plausibility check decides (a real wrap is counted, see `SNMPSimulatorTests`).
    @Test func aSixtyFourBitResetWithoutSpeedIsDropped() {
        #expect(CounterMath.decide(previous: baseline(5_000_000, 10, speed: 0), current: reading(1_000, 20, speed: 0), time: start + 60, sysUpTime: 106_000)
            == .dropped(reason: "64-bit counter went backwards on a port without a speed (a reset)"))
        #expect(CounterMath.decide(previous: baseline(UInt64.max - 999, 10), current: reading(4_000, 20), time: start + 60, sysUpTime: 106_000)
            == .delta(inOctets: 5_000, outOctets: 10, seconds: 60))
    }

    @Test func uptimeWrapIsNotARestart() {
        // 2^32 hundredths is 497 days; 4294965000 + 60 s (6000) = 4294971000, which wraps to 3704.
        #expect(CounterMath.isUptimeWrap(previous: 4_294_965_000, current: 3_704, elapsed: 60))
        #expect(!CounterMath.isUptimeWrap(previous: 4_294_965_000, current: 90_000, elapsed: 60))
        #expect(!CounterMath.isUptimeWrap(previous: 100_000, current: 50, elapsed: 60))
        let decision = CounterMath.decide(previous: baseline(0, 0, uptime: 4_294_965_000), current: reading(100, 100), time: start + 60, sysUpTime: 3_704)
        #expect(decision == .delta(inOctets: 100, outOctets: 100, seconds: 60))
    }

    @Test func apportionIsExact() {
        // 1000 octets from 12:04:00 to 12:06:00: half in each 5-minute bucket.
        let from = Date(timeIntervalSince1970: 1_800_000_240)
        let to = Date(timeIntervalSince1970: 1_800_000_360)
        let parts = CounterMath.apportion(1000, from: from, to: to, bucketSeconds: 300)
        #expect(parts.map(\.bucket) == [1_800_000_000, 1_800_000_300])
        #expect(parts.map(\.octets) == [500, 500])
        // Odd numbers and many buckets still add up exactly.
        let long = CounterMath.apportion(1_000_000_007, from: Date(timeIntervalSince1970: 1_800_000_017), to: Date(timeIntervalSince1970: 1_800_003_001), bucketSeconds: 300)
        #expect(long.map(\.octets).reduce(0, +) == 1_000_000_007)
        #expect(long.count == 11)
        #expect(CounterMath.apportion(42, from: from, to: from + 10, bucketSeconds: 300).map(\.octets) == [42])
    }

    @Test func ninetyFifthPercentileByHand() {
        // 1...100: drop the top 5 (96-100), the highest remaining is 95.
        #expect(Percentile.ninetyFifth((1...100).map(Double.init).shuffled()) == 95)
        // 20 samples: drop 1, take the 19th highest of the sorted list.
        #expect(Percentile.ninetyFifth((1...20).map { Double($0 * 10) }) == 190)
        // 19 samples: 5 % is 0.95, nothing is dropped.
        #expect(Percentile.ninetyFifth((1...19).map(Double.init)) == 19)
        // 8640 five-minute samples (30 days): 432 dropped.
        let month = (0..<8640).map(Double.init)
        #expect(Percentile.ninetyFifth(month) == 8207)
        #expect(Percentile.ninetyFifth([]) == 0)
    }
}
