import Foundation

/// Width of an interface octet counter: ifHCInOctets (64) or ifInOctets (32).
public enum CounterWidth: Int, Sendable, Codable {
    case bits32 = 32
    case bits64 = 64

    /// 2^width as the modulus of counter arithmetic (2^64 does not fit, so 64-bit uses wrapping subtraction).
    var modulus: UInt64? { self == .bits32 ? 1 << 32 : nil }
}

/// One port's counters in one poll.
public struct PortCounters: Sendable, Equatable, Codable {
    public var ifIndex: Int
    public var inOctets: UInt64
    public var outOctets: UInt64
    public var width: CounterWidth
    /// ifHighSpeed in Mbit/s; 0 when unknown (no rate check then).
    public var speedMbps: UInt64
    /// ifCounterDiscontinuityTime, when the device has it.
    public var discontinuityTime: UInt64?

    public init(ifIndex: Int, inOctets: UInt64, outOctets: UInt64, width: CounterWidth, speedMbps: UInt64, discontinuityTime: UInt64? = nil) {
        self.ifIndex = ifIndex
        self.inOctets = inOctets
        self.outOctets = outOctets
        self.width = width
        self.speedMbps = speedMbps
        self.discontinuityTime = discontinuityTime
    }
}

/// What the agent remembers of a port between polls.
public struct PortBaseline: Sendable, Equatable, Codable {
    public var counters: PortCounters
    public var time: Date
    /// The device's sysUpTime (hundredths of a second) at that poll.
    public var sysUpTime: UInt32
    /// False after a poll in which the port was missing.
    public var present: Bool

    public init(counters: PortCounters, time: Date, sysUpTime: UInt32, present: Bool = true) {
        self.counters = counters
        self.time = time
        self.sysUpTime = sysUpTime
        self.present = present
    }
}

/// The outcome for one port of one poll.
public enum SampleDecision: Sendable, Equatable {
    /// First sight of the port (or first after a discontinuity): nothing to count yet.
    case baseline
    /// Octets moved since the last poll, over `seconds`.
    case delta(inOctets: UInt64, outOctets: UInt64, seconds: Double)
    /// The difference cannot be trusted; the sample is dropped and the reason recorded.
    case dropped(reason: String)
}

/// Exact counter arithmetic. Pure: the poller feeds readings and stores what this decides.
public enum CounterMath {
    /// `current - previous` modulo 2^width: one wrap between two polls is counted correctly.
    public static func difference(from previous: UInt64, to current: UInt64, width: CounterWidth) -> UInt64 {
        guard let modulus = width.modulus else { return current &- previous }
        return (current % modulus + modulus - previous % modulus) % modulus
    }

    /// Whether sysUpTime going from `previous` to `current` over `elapsed` seconds is its normal 497-day wrap
    /// rather than a restart: the expected value passed 2^32 and the reading is near it.
    public static func isUptimeWrap(previous: UInt32, current: UInt32, elapsed: Double) -> Bool {
        let expected = UInt64(previous) + UInt64(max(0, elapsed) * 100)
        guard expected >= 1 << 32 else { return false }
        let wrapped = Int64(expected - (1 << 32))
        let tolerance = max(500, Int64(elapsed * 10))
        return abs(Int64(current) - wrapped) <= tolerance
    }

    /// The largest Double below 2^64, so below UInt64.max after rounding.
    static let largestConvertible = Double(UInt64.max).nextDown

    /// The longest time between two readings that still makes a sample (30 days).
    public static let maximumSampleSeconds: Double = 30 * 86_400

    /// Decides what a poll means for one port against what was stored.
    /// - Parameters:
    ///   - previous: the stored baseline, nil for a new port.
    ///   - current: this poll's counters.
    ///   - time: when this poll was taken.
    ///   - sysUpTime: the device's sysUpTime in this poll.
    public static func decide(previous: PortBaseline?, current: PortCounters, time: Date, sysUpTime: UInt32) -> SampleDecision {
        guard let previous else { return .baseline }
        guard previous.present else { return .dropped(reason: "port disappeared and came back") }
        let elapsed = time.timeIntervalSince(previous.time)
        guard elapsed > 0 else { return .dropped(reason: "no time elapsed since the previous poll") }
        // A reading from longer ago is a clock that jumped (a box that booted in 1970 and then found NTP) or an agent
        // that stood still for a month: spreading it over every 5-minute bucket in between would invent traffic (and
        // write millions of rows). The counters become the new baseline.
        guard elapsed <= maximumSampleSeconds else {
            return .dropped(reason: "the previous reading is \(Int(elapsed / 86_400)) days old (more than \(Int(maximumSampleSeconds / 86_400)))")
        }
        if sysUpTime < previous.sysUpTime, !isUptimeWrap(previous: previous.sysUpTime, current: sysUpTime, elapsed: elapsed) {
            return .dropped(reason: "device restarted (sysUpTime went backwards)")
        }
        guard previous.counters.width == current.width else { return .dropped(reason: "counter width changed") }
        if let before = previous.counters.discontinuityTime, let now = current.discontinuityTime, before != now {
            return .dropped(reason: "ifCounterDiscontinuityTime changed")
        }
        let inOctets = difference(from: previous.counters.inOctets, to: current.inOctets, width: current.width)
        let outOctets = difference(from: previous.counters.outOctets, to: current.outOctets, width: current.width)
        let speed = max(current.speedMbps, previous.counters.speedMbps)
        // Without a speed nothing bounds the delta: a 64-bit counter that went down was reset (a wrap takes decades at
        // 100 Gbit/s), and its "wrap" would record some 2^64 octets.
        if speed == 0, current.width == .bits64, current.inOctets < previous.counters.inOctets || current.outOctets < previous.counters.outOctets {
            return .dropped(reason: "64-bit counter went backwards on a port without a speed (a reset)")
        }
        if speed > 0 {
            let limit = 1.1 * Double(speed) * 1_000_000 / 8 * elapsed
            if Double(inOctets) > limit || Double(outOctets) > limit {
                return .dropped(reason: "rate above 1.1x ifHighSpeed (\(speed) Mbit/s)")
            }
        }
        return .delta(inOctets: inOctets, outOctets: outOctets, seconds: elapsed)
    }

    /// Splits `octets` moved between `start` and `end` over fixed buckets (e.g. 300 s) by time overlap. The
    /// parts are integers that add up exactly to `octets`.
    /// - Parameter bucketSeconds: the bucket length, positive.
    /// - Returns: bucket start (Unix seconds, a multiple of `bucketSeconds`) and octets, in time order.
    public static func apportion(_ octets: UInt64, from start: Date, to end: Date, bucketSeconds: Int64) -> [(bucket: Int64, octets: UInt64)] {
        precondition(bucketSeconds > 0, "buckets have a positive length")
        let startSeconds = start.timeIntervalSince1970
        let endSeconds = end.timeIntervalSince1970
        let span = endSeconds - startSeconds
        let firstBucket = Int64((startSeconds / Double(bucketSeconds)).rounded(.down)) * bucketSeconds
        guard span > 0 else { return [(firstBucket, octets)] }
        var parts: [(Int64, UInt64)] = []
        var assigned: UInt64 = 0
        var bucket = firstBucket
        while Double(bucket) < endSeconds {
            let overlap = min(endSeconds, Double(bucket + bucketSeconds)) - max(startSeconds, Double(bucket))
            if overlap > 0 {
                // Clamped below 2^64: Double(UInt64.max) rounds up to 2^64, which UInt64 cannot hold (the whole of a
                // near-2^64 delta in one bucket trapped here; found by the counter-math fuzz target).
                let share = UInt64(min(Double(octets) * min(1, overlap / span), Self.largestConvertible).rounded(.down))
                parts.append((bucket, min(share, octets - assigned)))
                assigned += parts[parts.count - 1].1
            }
            bucket += bucketSeconds
        }
        if assigned < octets, !parts.isEmpty { parts[parts.count - 1].1 += octets - assigned }
        return parts
    }
}

/// The 95th percentile as transit providers bill it.
public enum Percentile {
    /// Sorts the rates, drops the top 5 % (rounded down), returns the highest remaining; 0 for no rates.
    public static func ninetyFifth(_ rates: [Double]) -> Double {
        guard !rates.isEmpty else { return 0 }
        let sorted = rates.sorted()
        let dropped = Int((Double(sorted.count) * 0.05).rounded(.down))
        return sorted[sorted.count - 1 - dropped]
    }
}
