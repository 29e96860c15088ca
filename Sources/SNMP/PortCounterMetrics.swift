import Foundation

/// One port's running totals: the octets of every delta the agent accepted since it first polled the port (in and out
/// as its statistics count them, `flip_in_out` applied; dropped samples left out; 64-bit, never wrapping), and the one
/// server assigned to it (nil when none or several).
public struct PolledPortCounters: Sendable, Equatable {
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

    public static func render(_ ports: [PolledPortCounters]) -> String {
        var text = ""
        text.reserveCapacity(ports.count * 2 * 96 + 512)
        for (name, help, value) in [
            (inName, "Octets in, the sum of the deltas the agent accepted (as its statistics count them; flip_in_out applied).", \PolledPortCounters.inOctets),
            (outName, "Octets out, the sum of the deltas the agent accepted (as its statistics count them; flip_in_out applied).", \PolledPortCounters.outOctets),
        ] {
            text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for port in ports {
                text += name
                text += "{device=\""
                appendEscaped(port.deviceId, to: &text)
                text += "\",port=\""
                text += String(port.ifIndex)
                if let server = port.serverId {
                    text += "\",server=\""
                    text += String(server)
                }
                text += "\"} "
                text += String(port[keyPath: value])
                text += "\n"
            }
        }
        return text
    }

    /// A label value as the text format wants it: backslash, double quote and newline escaped.
    static func appendEscaped(_ value: String, to text: inout String) {
        guard value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            text += value
            return
        }
        for character in value.unicodeScalars {
            switch character {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "\n": text += "\\n"
            default: text.unicodeScalars.append(character)
            }
        }
    }
}
