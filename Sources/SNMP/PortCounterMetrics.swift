import Foundation

/// One port's running totals: the octets of every delta the agent accepted since it first polled the port (in and out
/// as its statistics count them, `flip_in_out` applied; dropped samples left out; 64-bit, never wrapping), and the one
/// server assigned to it (nil when none or several).
public struct PortCounterTotals: Sendable, Equatable {
    public var deviceId: String
    public var ifIndex: Int
    public var inOctets: UInt64
    public var outOctets: UInt64
    public var serverId: Int64?

    public init(deviceId: String, ifIndex: Int, inOctets: UInt64, outOctets: UInt64, serverId: Int64?) {
        self.deviceId = deviceId
        self.ifIndex = ifIndex
        self.inOctets = inOctets
        self.outOctets = outOctets
        self.serverId = serverId
    }
}

/// The ports' running totals in Prometheus's text format, so that Prometheus, VictoriaMetrics or Thanos can keep the
/// long-term series: `rackagent_port_in_octets_total` and `rackagent_port_out_octets_total`, labelled with the device
/// id, the port (ifIndex) and, when exactly one server is cabled to it, the server id. Pure.
public enum PortCounterMetrics {
    public static let inName = "rackagent_port_in_octets_total"
    public static let outName = "rackagent_port_out_octets_total"

    public static func render(_ ports: [PortCounterTotals]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(ports.count * 2 * 96 + 512)
        for (name, help, value) in [
            (inName, "Octets in, the sum of the deltas the agent accepted (as its statistics count them; flip_in_out applied).", \PortCounterTotals.inOctets),
            (outName, "Octets out, the sum of the deltas the agent accepted (as its statistics count them; flip_in_out applied).", \PortCounterTotals.outOctets),
        ] {
            text.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) counter\n".utf8)
            let opening = Array("\(name){device=\"".utf8)
            for port in ports {
                text.append(contentsOf: opening)
                appendEscaped(port.deviceId, to: &text)
                text.append(contentsOf: "\",port=\"".utf8)
                appendDecimal(UInt64(max(0, port.ifIndex)), to: &text)
                if let server = port.serverId {
                    text.append(contentsOf: "\",server=\"".utf8)
                    appendDecimal(UInt64(max(0, server)), to: &text)
                }
                text.append(contentsOf: "\"} ".utf8)
                appendDecimal(port[keyPath: value], to: &text)
                text.append(UInt8(ascii: "\n"))
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A label value as the text format wants it: backslash, double quote and newline escaped.
    static func appendEscaped(_ value: String, to text: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""): text.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case UInt8(ascii: "\n"): text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            default: text.append(byte)
            }
        }
    }

    /// `value` in decimal digits, without an intermediate string.
    static func appendDecimal(_ value: UInt64, to text: inout [UInt8]) {
        let start = text.count
        var remaining = value
        repeat {
            text.append(UInt8(ascii: "0") + UInt8(remaining % 10))
            remaining /= 10
        } while remaining > 0
        text[start...].reverse()
    }
}
