import AgentCore

/// One port's day of bandwidth at one resolution (5-minute or hourly buckets), packed into a few bytes per bucket: the
/// form a closed day takes in the store (see ``BandwidthRetention``). A bucket the agent never measured stays absent,
/// distinct from a measured zero, so that a percentile over the packed day equals the one over the rows it came from.
/// Pure.
///
/// Layout (version 1): a version byte, a bitmap of the measured buckets (bit `i % 8` of byte `i / 8`), then for each
/// measured bucket its in and out octets as unsigned LEB128 varints.
public struct PackedBandwidthDay: Sendable, Equatable {
    /// One measured bucket's volumes.
    public struct Volumes: Sendable, Equatable {
        public var inOctets: UInt64
        public var outOctets: UInt64

        public init(inOctets: UInt64, outOctets: UInt64) {
            self.inOctets = inOctets
            self.outOctets = outOctets
        }
    }

    static let formatVersion: UInt8 = 1

    /// The day's start (UTC midnight), in seconds since 1970.
    public let day: Int64
    /// The length of one bucket in seconds (a divisor of a day).
    public let bucketSeconds: Int64
    /// The day's buckets in order; nil where nothing was measured.
    public private(set) var buckets: [Volumes?]

    /// An empty day.
    public init(day: Int64, bucketSeconds: Int64) {
        precondition(bucketSeconds > 0 && 86_400 % bucketSeconds == 0 && day % 86_400 == 0, "a day is whole buckets from midnight")
        self.day = day
        self.bucketSeconds = bucketSeconds
        buckets = Array(repeating: nil, count: Int(86_400 / bucketSeconds))
    }

    /// Adds volumes measured in the bucket starting at `bucket` (any finer bucket inside this day's bucket adds to it).
    public mutating func add(bucket: Int64, inOctets: UInt64, outOctets: UInt64) {
        let index = Int((bucket - day) / bucketSeconds)
        precondition(bucket >= day && index < buckets.count, "bucket \(bucket) is not in the day starting \(day)")
        let sum = buckets[index] ?? Volumes(inOctets: 0, outOctets: 0)
        buckets[index] = Volumes(inOctets: sum.inOctets &+ inOctets, outOctets: sum.outOctets &+ outOctets)
    }

    /// The same day in longer buckets: each is the sum of the measured buckets inside it, absent when none was.
    public func coarsened(to longerSeconds: Int64) -> PackedBandwidthDay {
        var coarse = PackedBandwidthDay(day: day, bucketSeconds: longerSeconds)
        for (index, volumes) in buckets.enumerated() {
            guard let volumes else { continue }
            coarse.add(bucket: day + Int64(index) * bucketSeconds, inOctets: volumes.inOctets, outOctets: volumes.outOctets)
        }
        return coarse
    }

    /// The measured buckets as rollups of `ifIndex`, in time order.
    public func rollups(ifIndex: Int) -> [BandwidthStore.Rollup] {
        buckets.enumerated().compactMap { index, volumes in
            volumes.map {
                BandwidthStore.Rollup(
                    ifIndex: ifIndex, bucket: day + Int64(index) * bucketSeconds, inOctets: $0.inOctets, outOctets: $0.outOctets, seconds: bucketSeconds)
            }
        }
    }

    /// The packed bytes.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.formatVersion]
        var bitmap = [UInt8](repeating: 0, count: (buckets.count + 7) / 8)
        for (index, volumes) in buckets.enumerated() where volumes != nil { bitmap[index / 8] |= 1 << UInt8(index % 8) }
        bytes += bitmap
        for volumes in buckets {
            guard let volumes else { continue }
            Self.appendVarint(volumes.inOctets, to: &bytes)
            Self.appendVarint(volumes.outOctets, to: &bytes)
        }
        return bytes
    }

    /// Unpacks what ``encoded()`` wrote for this day and bucket length.
    public init(decoding bytes: [UInt8], day: Int64, bucketSeconds: Int64) throws(PackedBandwidthDayError) {
        guard bucketSeconds > 0, 86_400 % bucketSeconds == 0, day % 86_400 == 0 else { throw .notWholeBuckets(day: day, bucketSeconds: bucketSeconds) }
        self.init(day: day, bucketSeconds: bucketSeconds)
        guard let version = bytes.first else { throw .truncated }
        guard version == Self.formatVersion else { throw .unknownVersion(version) }
        let bitmapLength = (buckets.count + 7) / 8
        guard bytes.count >= 1 + bitmapLength else { throw .truncated }
        var offset = 1 + bitmapLength
        for index in buckets.indices where bytes[1 + index / 8] & (1 << UInt8(index % 8)) != 0 {
            let inOctets = try Self.readVarint(bytes, at: &offset)
            let outOctets = try Self.readVarint(bytes, at: &offset)
            buckets[index] = Volumes(inOctets: inOctets, outOctets: outOctets)
        }
        guard offset == bytes.count else { throw .trailingBytes(bytes.count - offset) }
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    static func readVarint(_ bytes: [UInt8], at offset: inout Int) throws(PackedBandwidthDayError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw .truncated }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64, shift < 63 || byte & 0x7F <= 1 else { throw .overlongNumber }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }
}

/// Why packed bytes could not be read back.
public enum PackedBandwidthDayError: Error, Sendable, Hashable, CustomStringConvertible {
    case truncated
    case unknownVersion(UInt8)
    case overlongNumber
    case trailingBytes(Int)
    case notWholeBuckets(day: Int64, bucketSeconds: Int64)

    public var description: String {
        switch self {
        case .truncated: return "the packed day ends early"
        case .unknownVersion(let version): return "unknown packed-day format \(version)"
        case .overlongNumber: return "a number in the packed day is longer than 64 bits"
        case .trailingBytes(let count): return "\(count) bytes follow the packed day"
        case .notWholeBuckets(let day, let seconds): return "a day starting at \(day) is not whole \(seconds)-second buckets from midnight"
        }
    }
}
