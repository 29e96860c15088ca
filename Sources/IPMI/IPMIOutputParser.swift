import AgentCore
import Foundation

/// Parsers for ipmitool's text output. Pure functions, unit-tested on captured real output.
public enum IPMIOutputParser {
    /// `ipmitool channel getaccess CHANNEL SLOT` as the seed's channel access settings: `ipmi`, `link` and `callin`
    /// on/off and `privilege` as its number ("Access Available : callback only" is callin=off).
    public static func channelAccess(_ output: String) -> [String: String] {
        var settings: [String: String] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            let value = parts[1].lowercased()
            switch parts[0].lowercased() {
            case "ipmi messaging": settings["ipmi"] = value == "enabled" ? "on" : "off"
            case "link authentication": settings["link"] = value == "enabled" ? "on" : "off"
            case "access available": settings["callin"] = value.contains("call-in") ? "on" : "off"
            case "privilege level":
                if let level = BMCUser.privilegeNames.first(where: { $0.value == parts[1].uppercased() })?.key { settings["privilege"] = String(level) }
            default: break
            }
        }
        return settings
    }

    /// "Chassis Power is on" → .on
    public static func chassisPower(_ output: String) -> ChassisPower? {
        for line in output.split(whereSeparator: \.isNewline) {
            let lowered = line.lowercased()
            guard lowered.contains("chassis power is") || lowered.hasPrefix("system power") else { continue }
            if lowered.hasSuffix(" on") || lowered.hasSuffix(": on") { return .on }
            if lowered.hasSuffix(" off") || lowered.hasSuffix(": off") { return .off }
        }
        return nil
    }

    /// `chassis restart_cause`: "System restart cause: chassis power control command" → "chassis power control command".
    public static func restartCause(_ output: String) -> String? {
        for line in output.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "system restart cause" else { continue }
            let cause = parts[1].trimmingCharacters(in: .whitespaces)
            return cause.isEmpty ? nil : cause
        }
        return nil
    }

    /// The restart cause a chassis control command (power cycle, reset, on) leaves behind.
    public static let chassisControlRestartCause = "chassis power control command"

    /// `sel info`: the entry count and the time of the last addition, which change when the BMC logs an event.
    public static func selMark(_ output: String) -> SELMark? {
        let pairs = keyValues(output)
        guard let entries = pairs.first(where: { $0.key == "Entries" }).flatMap({ Int($0.value) }) else { return nil }
        return SELMark(entries: entries, lastAddTime: pairs.first { $0.key == "Last Add Time" }?.value ?? "")
    }

    /// SEL entries that record a restart or a power transition of the host (System Boot/Restart Initiated sensors,
    /// their "Initiated by ..." events, power-unit power-down and power-cycle events).
    public static func isRestartEvent(_ entry: SELEntry) -> Bool {
        let text = (entry.sensor + " " + entry.event).lowercased()
        return ["system boot", "boot initiated", "system restart", "initiated by power up", "initiated by hard reset", "initiated by warm reset",
                "power cycle", "power off/down", "os boot"].contains { text.contains($0) }
    }

    /// `chassis bootparam get 5`.
    public static func bootFlags(_ output: String) -> BootFlags? {
        var selector: String?
        var persistent = false
        var efi = false
        var valid = false
        for rawLine in output.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces).trimmingPrefix("- ").trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Boot Device Selector") {
                selector = line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
            } else if line == "Options apply to all future boots" {
                persistent = true
            } else if line.hasPrefix("BIOS EFI boot") {
                efi = true
            } else if line == "Boot Flag Valid" {
                valid = true
            }
        }
        guard let selector else { return nil }
        let device = BootDevice.allCases.first { selector.caseInsensitiveCompare($0.selectorText) == .orderedSame }
        return BootFlags(deviceSelector: selector, device: device, persistent: persistent, efi: efi, valid: valid)
    }

    /// `user list <channel>`: ipmitool prints `%-4d%-17s` (ID, Name) then Callin, Link Auth, IPMI Msg and the
    /// channel privilege limit; the name may be empty.
    public static func users(_ output: String) -> [BMCUser] {
        var users: [BMCUser] = []
        for line in output.split(whereSeparator: \.isNewline).map(String.init) {
            let characters = Array(line)
            guard characters.count > 21, let id = Int(String(characters[0..<4]).trimmingCharacters(in: .whitespaces)) else { continue }
            let name = String(characters[4..<21]).trimmingCharacters(in: .whitespaces)
            let fields = String(characters[21...]).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 4 else { continue }
            let privilegeText = fields[3...].joined(separator: " ")
            let privilegeId = BMCUser.privilegeNames.first { $0.value == privilegeText.uppercased() }?.key
                ?? Int(privilegeText.split(separator: "x").last?.filter(\.isHexDigit) ?? "", radix: 16) ?? 0
            users.append(
                BMCUser(
                    id: id, name: name, callin: fields[0] == "true", linkAuth: fields[1] == "true", ipmiMsg: fields[2] == "true",
                    privilegeName: privilegeText, privilegeId: privilegeId))
        }
        return users
    }

    /// `sdr elist`: `Name | ID | status | entity | reading`.
    public static func sensors(_ output: String) -> [SensorReading] {
        output.split(whereSeparator: \.isNewline).compactMap { line in
            let columns = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard columns.count >= 5, !columns[0].isEmpty else { return nil }
            let reading = columns[4...].joined(separator: "|")
            var value: Double?
            var unit: String?
            let parts = reading.split(separator: " ", maxSplits: 1)
            if let first = parts.first, let number = Double(first) {
                value = number
                unit = parts.count > 1 ? String(parts[1]) : nil
            }
            return SensorReading(name: columns[0], id: columns[1], status: columns[2], entity: columns[3], value: value, unit: unit, reading: reading)
        }
    }

    /// `sel elist`: `id | date | time | sensor | event | direction`.
    public static func selEntries(_ output: String) -> [SELEntry] {
        output.split(whereSeparator: \.isNewline).compactMap { line in
            let columns = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard columns.count >= 5, !columns[0].isEmpty, columns[0].allSatisfy(\.isHexDigit) else { return nil }
            return SELEntry(
                id: columns[0], date: columns[1], time: columns[2], sensor: columns[3], event: columns[4],
                direction: columns.count > 5 ? columns[5] : nil)
        }
    }

    /// `fru print`: devices introduced by "FRU Device Description : ...", then indented `Key : Value` lines.
    public static func fruDevices(_ output: String) -> [FRUDevice] {
        var devices: [FRUDevice] = []
        for line in output.split(whereSeparator: \.isNewline) {
            guard let pair = keyValue(String(line)) else { continue }
            if pair.key == "FRU Device Description" {
                devices.append(FRUDevice(description: pair.value, fields: []))
            } else if !devices.isEmpty {
                devices[devices.count - 1].fields.append(pair)
            }
        }
        return devices
    }

    /// `Key : Value` lines (`lan print`, `mc info`, `chassis status`); a line starting with ":" continues the
    /// previous key's value.
    public static func keyValues(_ output: String) -> [KeyValue] {
        var pairs: [KeyValue] = []
        for line in output.split(whereSeparator: \.isNewline).map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(":"), !pairs.isEmpty {
                let continuation = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
                pairs[pairs.count - 1].value += (pairs[pairs.count - 1].value.isEmpty ? "" : "\n") + continuation
            } else if let pair = keyValue(line) {
                pairs.append(pair)
            }
        }
        return pairs
    }

    static func keyValue(_ line: String) -> KeyValue? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let key = line[..<colon].trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty else { return nil }
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        return KeyValue(key: key, value: value)
    }
}
