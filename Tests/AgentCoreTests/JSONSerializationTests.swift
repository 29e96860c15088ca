import AgentCore
import Foundation
import PeerHarness
import Testing

/// The direct writer must produce exactly the bytes of the shared JSONEncoder (sorted keys, unescaped slashes), so that
/// every answer and stored document reads the same whichever wrote it.
@Suite struct JSONSerializationTests {
    static let keys = [
        "1d", "7d", "14d", "30d", "95th_in_30d", "95th_out_30d", "95th_total_30d", "Zeta", "alpha", "_x", "a_b", "aB", "Ab", "ab", "10", "9",
        "é", "e", "f", "x-y", "x.y", "Δ", "port2", "port10", "", " ", "A", "a", "e\u{301}", "e\u{301}x", "ex", "Å", "A\u{30A}", "\u{212B}", "ﬁ", "fi",
    ]
    static let strings = [
        "", "plain", "slash/and\\backslash", "quote\"d", "tab\tnewline\nreturn\rform\u{0C}back\u{08}", "\u{00}\u{01}\u{1F}\u{7F}", "é and ü",
        "emoji 🖥️ and flag 🇩🇪", "e\u{301} combining", "line\u{2028}separator", "<script>&amp;",
    ]
    static let doubles: [Double] = [
        0, -0.0, 1, -1, 0.1, 1.5, 100, 1e15, 1e16, 1e17, 1e20, 1e21, 1e-5, 1e-7, 123_456_789.123, 5e-324, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, .leastNormalMagnitude, 8_000_000_000.0 / 300, 2.0 / 3,
    ]

    static func value(_ generator: inout SplitMix, depth: Int) -> JSONValue {
        switch generator.below(depth > 3 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(generator.below(2) == 0)
        case 2: return .integer(Int64(bitPattern: generator.next()) >> Int64(generator.below(64)))
        case 3:
            let random = Double(bitPattern: generator.next())
            return .double(generator.below(2) == 0 && random.isFinite ? random : doubles[generator.below(doubles.count)])
        case 4:
            var text = strings[generator.below(strings.count)]
            text += String(UnicodeScalar(UInt8(generator.below(128))))
            return .string(text)
        case 5: return .array((0..<generator.below(5)).map { _ in value(&generator, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<generator.below(8) { members[keys[generator.below(keys.count)]] = value(&generator, depth: depth + 1) }
            return .object(members)
        }
    }

    @Test func writesExactlyWhatTheSharedEncoderWrites() throws {
        var generator = SplitMix(seed: 7)
        for round in 0..<3000 {
            let value = Self.value(&generator, depth: 0)
            let expected = try JSONCoding.encoder.encode(value)
            let written = try value.serialized()
            #expect(written == [UInt8](expected), "round \(round): \(String(decoding: expected, as: UTF8.self)) against \(String(decoding: written, as: UTF8.self))")
            if written != [UInt8](expected) { return }
        }
        // Every key set in one object, and every edge double on its own.
        // (Keys Swift holds equal, "é" and "e\u{301}", are one member.)
        let all = JSONValue.object(Dictionary(Self.keys.enumerated().map { ($0.element, JSONValue.integer(Int64($0.offset))) }, uniquingKeysWith: { first, _ in first }))
        #expect(try all.serialized() == [UInt8](try JSONCoding.encoder.encode(all)))
        for number in Self.doubles {
            #expect(try JSONValue.double(number).serialized() == [UInt8](try JSONCoding.encoder.encode(JSONValue.double(number))), "\(number)")
        }
    }

    @Test func aNumberJSONCannotHoldIsRefused() {
        #expect(throws: JSONSerializationError.notANumber(.infinity)) { try JSONValue.array([1, .double(.infinity)]).serialized() }
        #expect(throws: JSONSerializationError.self) { try JSONValue.object(["x": .double(.nan)]).serialized() }
        #expect(throws: (any Error).self) { try JSONCoding.encoder.encode(JSONValue.double(.nan)) }
    }
}
