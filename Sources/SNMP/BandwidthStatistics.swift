import AgentCore
import Foundation

/// The seed's getStatistics request body: `portIds`, `mode` ("graph" or "text"), `groupBy` ("1d", "1mo" ...),
/// `from` / `to` as "YYYY-MM-DD HH:MM:SS" or the seed's "2025-08-25T15:29:15" (UTC), or `predefined` ("1h", "24h",
/// "14days", ...: the range ending at `to`, or now).
public struct StatisticsRequest: Sendable, Decodable {
    public enum Mode: String, Sendable { case graph, text }
    public enum Grouping: String, Sendable, CaseIterable {
        case fiveMinutes = "5m", hour = "1h", day = "1d", month = "1mo"
    }

    public var portIds: [String]
    public var mode: Mode
    public var groupBy: Grouping
    public var from: Date?
    public var to: Date?
    /// The `predefined` range's length in seconds, when one was given.
    public var predefinedSeconds: TimeInterval?

    enum CodingKeys: String, CodingKey { case portIds, mode, groupBy, from, to, predefined }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let values = try container.decodeIfPresent([JSONValue].self, forKey: .portIds) {
            portIds = try values.map { value in
                switch value {
                case .string(let text): return text
                case .integer(let number): return String(number)
                default: throw container.invalid(.portIds, "port ids are strings or integers")
                }
            }
        } else {
            portIds = []
        }
        let modeText = try container.decodeTolerantStringIfPresent(forKey: .mode) ?? "graph"
        guard let mode = Mode(rawValue: modeText.lowercased()) else { throw container.invalid(.mode, "must be graph or text") }
        self.mode = mode
        let groupText = try container.decodeTolerantStringIfPresent(forKey: .groupBy) ?? (mode == .text ? "1d" : "5m")
        guard let grouping = Grouping(rawValue: groupText) else {
            throw container.invalid(.groupBy, "must be one of \(Grouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        groupBy = grouping
        for key in [CodingKeys.from, .to] {
            guard let text = try container.decodeTolerantStringIfPresent(forKey: key), !text.isEmpty else { continue }
            guard let date = BandwidthStatistics.parseTimestamp(text) else {
                throw container.invalid(key, "expected YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS (UTC)")
            }
            if key == .from { from = date } else { to = date }
        }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .predefined), !text.isEmpty {
            guard let seconds = BandwidthStatistics.predefinedRange(text) else {
                throw container.invalid(.predefined, "expected a number and a unit: 1h, 24h, 7days, 14days, 1mo, 1y (h, d/days, w/weeks, mo/months, y/years)")
            }
            predefinedSeconds = seconds
            // A range replaces `from`: it ends at `to` (or now).
            from = nil
        }
        if let from, let to, from >= to { throw container.invalid(.to, "must be after from") }
    }
}

/// Turns rollups into the seed's statistics. Pure.
public enum BandwidthStatistics {
    /// The seed's per-server summary: volumes in GB (10^9 bytes, in + out) with two decimals, 95th
    /// percentiles of the 5-minute rates over 30 days in Mbit/s.
    public static func trafficStatistics(_ rollups: [BandwidthStore.Rollup], now: Date) -> JSONValue {
        let nowSeconds = Int64(now.timeIntervalSince1970)
        func volume(days: Int64) -> String {
            let since = nowSeconds - days * 86_400
            let bytes = rollups.filter { $0.bucket >= since }.reduce(0.0) { $0 + Double($1.inOctets) + Double($1.outOctets) }
            return String(format: "%.2f", bytes / 1e9)
        }
        // The percentiles are of 5-minute rates (the retention keeps 5-minute buckets for longer than 30 days).
        let window = rollups.filter { $0.bucket >= nowSeconds - 30 * 86_400 && $0.seconds == BandwidthStore.bucketSeconds }
        let seconds = Double(BandwidthStore.bucketSeconds)
        let inRates = window.map { Double($0.inOctets) * 8 / seconds / 1e6 }
        let outRates = window.map { Double($0.outOctets) * 8 / seconds / 1e6 }
        let totalRates = window.map { Double($0.inOctets + $0.outOctets) * 8 / seconds / 1e6 }
        return [
            "1d": .string(volume(days: 1)), "7d": .string(volume(days: 7)), "14d": .string(volume(days: 14)), "30d": .string(volume(days: 30)),
            "95th_in_30d": .string(String(format: "%.2f", Percentile.ninetyFifth(inRates))),
            "95th_out_30d": .string(String(format: "%.2f", Percentile.ninetyFifth(outRates))),
            "95th_total_30d": .string(String(format: "%.2f", Percentile.ninetyFifth(totalRates))),
        ]
    }

    /// The seed's lastBwrate: the last sample's rates in Mbit/s, two decimals.
    public static func lastRate(_ sample: PollOutcome.Sample?) -> JSONValue {
        lastRate(sample.map { [$0] } ?? [])
    }

    /// A server's lastBwrate: the sum of its ports' last rates, in Mbit/s with two decimals.
    public static func lastRate(_ samples: [PollOutcome.Sample]) -> JSONValue {
        var inRate = 0.0
        var outRate = 0.0
        for sample in samples {
            let seconds = max(1e-9, sample.endedAt.timeIntervalSince(sample.startedAt))
            inRate += Double(sample.inOctets) * 8 / seconds / 1e6
            outRate += Double(sample.outOctets) * 8 / seconds / 1e6
        }
        return ["in": .string(String(format: "%.2f", inRate)), "out": .string(String(format: "%.2f", outRate))]
    }

    /// One rollup per 5-minute bucket for a server: the sum over the ports it held in that bucket (`owned` pairs each
    /// port's rollups with the period that made them the server's). Its 95th percentile is then taken over the
    /// server's own 5-minute rates, never as a sum of per-port percentiles. A port listed twice for the same time
    /// (two connections on one cable) counts once.
    public static func serverRollups(_ owned: [(period: AssignmentPeriod, rollups: [BandwidthStore.Rollup])]) -> [BandwidthStore.Rollup] {
        struct Key: Hashable { var deviceId: String; var portId: Int; var bucket: Int64 }
        var seen: Set<Key> = []
        var sums: [Int64: (inOctets: UInt64, outOctets: UInt64)] = [:]
        for (period, rollups) in owned {
            for rollup in rollups where rollup.ifIndex == period.portId && rollup.seconds == BandwidthStore.bucketSeconds && period.owns(bucket: rollup.bucket) {
                guard seen.insert(Key(deviceId: period.deviceId, portId: period.portId, bucket: rollup.bucket)).inserted else { continue }
                let sum = sums[rollup.bucket] ?? (0, 0)
                sums[rollup.bucket] = (sum.inOctets &+ rollup.inOctets, sum.outOctets &+ rollup.outOctets)
            }
        }
        return sums.keys.sorted().map { BandwidthStore.Rollup(ifIndex: 0, bucket: $0, inOctets: sums[$0]!.inOctets, outOctets: sums[$0]!.outOctets) }
    }

    /// Graph points: one per 5-minute bucket (or coarser grouping, or the stored bucket where the history is coarser
    /// than the grouping), rates in bits per second over the point's own length.
    public static func graph(_ rollups: [BandwidthStore.Rollup], grouping: StatisticsRequest.Grouping) -> [JSONValue] {
        group(rollups, grouping).map { period in
            let seconds = Double(period.seconds)
            return [
                "time": .string(timestamp(period.start)), "in": .double(Double(period.inOctets) * 8 / seconds),
                "out": .double(Double(period.outOctets) * 8 / seconds),
            ]
        }
    }

    /// Text rows: volumes per period in bytes (and GB with two decimals).
    public static func text(_ rollups: [BandwidthStore.Rollup], grouping: StatisticsRequest.Grouping) -> [JSONValue] {
        group(rollups, grouping).map { period in
            let total = period.inOctets + period.outOctets
            return [
                "period": .string(label(period.start, grouping)), "in": .integer(Int64(clamping: period.inOctets)),
                "out": .integer(Int64(clamping: period.outOctets)), "total": .integer(Int64(clamping: total)),
                "totalGB": .string(String(format: "%.2f", Double(total) / 1e9)),
            ]
        }
    }

    struct Period {
        var start: Int64
        var seconds: Int64
        var inOctets: UInt64
        var outOctets: UInt64
    }

    static func group(_ rollups: [BandwidthStore.Rollup], _ grouping: StatisticsRequest.Grouping) -> [Period] {
        // One port's rollups in time order, each a period of its own (5-minute points, the commonest graph): as they are.
        if grouping == .fiveMinutes, zip(rollups, rollups.dropFirst()).allSatisfy({ $0.bucket < $1.bucket }) {
            return rollups.map { Period(start: $0.bucket, seconds: $0.seconds, inOctets: $0.inOctets, outOctets: $0.outOctets) }
        }
        var periods: [Int64: Period] = [:]
        for rollup in rollups {
            // History older than the grouping's resolution (hourly or daily buckets) keeps its own bucket.
            let (start, seconds) = rollup.seconds > groupingSeconds(grouping) ? (rollup.bucket, rollup.seconds) : periodStart(rollup.bucket, grouping)
            periods[start, default: Period(start: start, seconds: seconds, inOctets: 0, outOctets: 0)].inOctets += rollup.inOctets
            periods[start]!.outOctets += rollup.outOctets
        }
        return periods.values.sorted { $0.start < $1.start }
    }

    /// The shortest length a grouping's period has.
    static func groupingSeconds(_ grouping: StatisticsRequest.Grouping) -> Int64 {
        switch grouping {
        case .fiveMinutes: return 300
        case .hour: return 3600
        case .day: return 86_400
        case .month: return 28 * 86_400
        }
    }

    static func periodStart(_ bucket: Int64, _ grouping: StatisticsRequest.Grouping) -> (Int64, Int64) {
        switch grouping {
        case .fiveMinutes: return (bucket, 300)
        case .hour: return (bucket - bucket % 3600, 3600)
        case .day: return (bucket - bucket % 86_400, 86_400)
        case .month:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let date = Date(timeIntervalSince1970: TimeInterval(bucket))
            let start = calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
            let next = calendar.date(byAdding: .month, value: 1, to: start)!
            return (Int64(start.timeIntervalSince1970), Int64(next.timeIntervalSince(start)))
        }
    }

    static func label(_ start: Int64, _ grouping: StatisticsRequest.Grouping) -> String {
        let text = timestamp(start)
        switch grouping {
        case .day: return String(text.prefix(10))
        case .month: return String(text.prefix(7))
        case .hour, .fiveMinutes: return text
        }
    }

    /// "YYYY-MM-DD HH:MM:SS" in UTC, the seed's format.
    public static func timestamp(_ seconds: Int64) -> String {
        UTCTime.seedTimestamp(seconds)
    }

    /// Parses "YYYY-MM-DD HH:MM:SS", the seed's "YYYY-MM-DDTHH:MM:SS" (optionally with fractional seconds and a
    /// trailing Z, as Laravel writes them) or "YYYY-MM-DD", all UTC.
    public static func parseTimestamp(_ text: String) -> Date? {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("Z") { trimmed.removeLast() }
        if let dot = trimmed.firstIndex(of: "."), trimmed.contains("T"), trimmed[trimmed.index(after: dot)...].allSatisfy(\.isNumber) {
            trimmed = String(trimmed[..<dot])
        }
        return formatter("yyyy-MM-dd HH:mm:ss").date(from: trimmed) ?? formatter("yyyy-MM-dd'T'HH:mm:ss").date(from: trimmed)
            ?? formatter("yyyy-MM-dd").date(from: trimmed)
    }

    /// The length of a seed `predefined` range ("1h", "24h", "7days", "14days", "1mo", "1y"), or nil.
    public static func predefinedRange(_ text: String) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = trimmed.prefix { $0.isNumber }
        guard let count = Int(digits), count > 0, count <= 10_000 else { return nil }
        let hour = 3600.0, day = 86_400.0
        let units: [String: TimeInterval] = [
            "h": hour, "hour": hour, "hours": hour, "d": day, "day": day, "days": day, "w": 7 * day, "week": 7 * day, "weeks": 7 * day,
            "mo": 30 * day, "month": 30 * day, "months": 30 * day, "y": 365 * day, "year": 365 * day, "years": 365 * day,
        ]
        guard let unit = units[String(trimmed.dropFirst(digits.count))] else { return nil }
        return TimeInterval(count) * unit
    }

    /// A fresh formatter per use: formatters are not safe to share between threads.
    static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }
}
