import AgentCore
import Foundation

/// Turns what `scripts/hwdetect.sh` posts (raw /proc, dmidecode, lsblk, lspci output) into the seed's inventory:
/// its detailedHardwareInformation (mainboard text, memory mb, cpu MHz with cores, threads and mhzTurbo, disk mib
/// with HDD/SSD/NVMe) plus bios, system, nic, raid_controller and storage_controller under the seed's component
/// names, and `components`, a flat list of the seed's inventory items. Pure.
public enum HardwareInventory {
    /// The seed's root inventory components (componentname → the id the seed's default, not-deletable component has).
    public static let rootComponentIds: [String: Int64] = [
        "cpu": 1, "memory": 2, "system": 3, "bios": 4, "storage_controller": 5, "mainboard": 6, "disk": 7, "nic": 8, "raid_controller": 9,
    ]
    /// The seed's default custom fields: cpu Cores 2, MHz Turbo 3, MHz Normal 4, Threads 5; disk Disk Type 1
    /// (dropdown: 1 HDD, 2 SSD, 3 NVMe).
    static let diskTypeValues = ["HDD": "1", "SSD": "2", "NVMe": "3"]

    /// Values vendors leave in DMI tables instead of nothing.
    static let placeholders: Set<String> = [
        "", "not specified", "to be filled by o.e.m.", "to be filled by oem", "default string", "none", "unknown", "not provided",
        "not available", "system product name", "system manufacturer", "system serial number", "base board serial number", "0123456789",
        "no asset tag", "chassis serial number",
    ]

    static func clean(_ value: String?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines), !placeholders.contains(value.lowercased()),
            !value.hasPrefix("(Line containing")
        else { return nil }
        return value
    }

    /// `dmidecode -t N` output as one dictionary per structure (`Handle ...` block): title plus `Key: Value` lines.
    public static func dmiRecords(_ text: String) -> [[String: String]] {
        var records: [[String: String]] = []
        var current: [String: String]?
        var expectTitle = false
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.hasPrefix("Handle 0x") {
                if let current { records.append(current) }
                current = [:]
                expectTitle = true
                continue
            }
            guard current != nil else { continue }
            if expectTitle {
                current?["_title"] = line.trimmingCharacters(in: .whitespaces)
                expectTitle = false
                continue
            }
            // One tab (or up to 8 spaces in pasted output) of indentation: a field; deeper lines are list items.
            let indentation = line.prefix { $0 == "\t" || $0 == " " }
            let depth = indentation.reduce(0) { $0 + ($1 == "\t" ? 8 : 1) }
            guard depth > 0, depth <= 8, let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !key.isEmpty, current?[key] == nil { current?[key] = value }
        }
        if let current { records.append(current) }
        return records
    }

    /// `8192 MB`, `16 GB`, `1 TB`, `512 kB` → MiB.
    static func mebibytes(_ text: String?) -> Int? {
        guard let parts = text?.split(separator: " "), parts.count == 2, let number = Double(parts[0]) else { return nil }
        switch parts[1].uppercased() {
        case "KB": return Int(number / 1024)
        case "MB": return Int(number)
        case "GB": return Int(number * 1024)
        case "TB": return Int(number * 1024 * 1024)
        default: return nil
        }
    }

    /// `/proc/cpuinfo` lines (the script keeps processor, model name, cpu MHz, physical id, core id, cpu cores, siblings).
    static func cpuInfo(_ text: String) -> (model: String?, mhz: Int?, sockets: Int, cores: Int?, threads: Int) {
        var model: String?
        var mhz: Int?
        var sockets = Set<String>()
        var coresPerSocket: Int?
        var threads = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "processor": threads += 1
            case "model name": model = model ?? parts[1]
            case "cpu MHz": mhz = mhz ?? Double(parts[1]).map { Int($0.rounded()) }
            case "physical id": sockets.insert(parts[1])
            case "cpu cores": coresPerSocket = coresPerSocket ?? Int(parts[1])
            default: break
            }
        }
        let socketCount = max(1, sockets.count)
        return (model, mhz, socketCount, coresPerSocket.map { $0 * socketCount }, threads)
    }

    /// `lspci -mm -nn` lines: slot, class, vendor, device in quotes, with their `[code]`s.
    static func pciDevices(_ text: String) -> [(slot: String, classCode: String, className: String, vendor: String, device: String)] {
        text.split(separator: "\n").compactMap { line in
            var fields: [String] = []
            var current = ""
            var quoted = false
            for character in line {
                if character == "\"" {
                    if quoted { fields.append(current) }
                    current = ""
                    quoted.toggle()
                } else if quoted {
                    current.append(character)
                } else if character == " " {
                    if !current.isEmpty, fields.isEmpty { fields.append(current) }
                    current = ""
                } else {
                    current.append(character)
                }
            }
            guard fields.count >= 4 else { return nil }
            func split(_ field: String) -> (String, String) {
                guard let open = field.lastIndex(of: "["), field.hasSuffix("]") else { return (field, "") }
                return (field[..<open].trimmingCharacters(in: .whitespaces), String(field[field.index(after: open)..<field.index(before: field.endIndex)]))
            }
            let (className, classCode) = split(fields[1])
            return (fields[0], classCode, className, split(fields[2]).0, split(fields[3]).0)
        }
    }

    /// The seed's summary plus details; `facts` holds what installations check (disks, hardwareRaid).
    public static func normalize(_ report: JSONValue) throws -> JSONValue {
        guard case .object = report else { throw AgentError.invalidField("inventory", "expected the hardware detection JSON object") }
        guard report["format"]?.stringValue == "rackagent-hwdetect-1" else {
            throw AgentError.invalidField("inventory.format", "expected rackagent-hwdetect-1 (the agent's hwdetect.sh)")
        }
        let dmi = report["dmidecode"]
        let dmiId = report["dmiId"]
        func records(_ key: String) -> [[String: String]] { dmiRecords(dmi?[key]?.stringValue ?? "") }
        var components: [JSONValue] = []
        /// One of the seed's inventory items (`model`, `value`, `serial`, `inventorycomponent_id`, `description`,
        /// `customfields` as `[{"fieldId", "value"}]` or null), with its `componentname`.
        func component(_ name: String, model: String?, value: String?, serial: String?, description: String = "", customFields: [(Int64, String)] = []) {
            components.append([
                "componentname": .string(name), "inventorycomponent_id": rootComponentIds[name].map(JSONValue.integer) ?? .null,
                "model": .string(model ?? ""), "value": .string(value ?? ""), "serial": .string(serial ?? ""), "description": .string(description),
                "customfields": customFields.isEmpty ? .null : .array(customFields.map { ["fieldId": .integer($0.0), "value": .string($0.1)] }),
            ])
        }

        // Mainboard, BIOS, system.
        let board = records("baseboard").first { $0["_title"] == "Base Board Information" } ?? [:]
        let boardModel = clean(board["Product Name"]) ?? clean(dmiId?["board_name"]?.stringValue)
        let boardVersion = clean(board["Version"]) ?? clean(dmiId?["board_version"]?.stringValue)
        let boardSerial = clean(board["Serial Number"]) ?? clean(dmiId?["board_serial"]?.stringValue)
        let boardVendor = clean(board["Manufacturer"]) ?? clean(dmiId?["board_vendor"]?.stringValue)
        let mainboard: JSONValue = [
            "model": .string(boardModel ?? "unknown"), "value": .string(boardVersion ?? ""), "count": .integer(boardModel == nil ? 0 : 1),
            "valueType": "text",
            "details": boardModel == nil ? .array([]) : [["model": .string(boardModel!), "size": .string(boardVersion ?? ""),
                                                          "serial": .string(boardSerial ?? ""), "manufacturer": .string(boardVendor ?? "")]],
        ]
        if let boardModel { component("mainboard", model: boardModel, value: boardVersion, serial: boardSerial, description: boardVendor ?? "") }

        let biosRecord = records("bios").first { $0["_title"] == "BIOS Information" } ?? [:]
        let biosVendor = clean(biosRecord["Vendor"]) ?? clean(dmiId?["bios_vendor"]?.stringValue)
        let biosVersion = clean(biosRecord["Version"]) ?? clean(dmiId?["bios_version"]?.stringValue)
        let biosDate = clean(biosRecord["Release Date"]) ?? clean(dmiId?["bios_date"]?.stringValue)
        if biosVendor != nil || biosVersion != nil { component("bios", model: biosVendor, value: biosVersion, serial: biosDate) }

        let systemRecord = records("system").first { $0["_title"] == "System Information" } ?? [:]
        let systemVendor = clean(systemRecord["Manufacturer"]) ?? clean(dmiId?["sys_vendor"]?.stringValue)
        let systemModel = clean(systemRecord["Product Name"]) ?? clean(dmiId?["product_name"]?.stringValue)
        let systemSerial = clean(systemRecord["Serial Number"]) ?? clean(dmiId?["product_serial"]?.stringValue)
        if systemModel != nil { component("system", model: systemModel, value: systemVendor, serial: systemSerial) }

        // CPU: DMI type 4 (populated sockets), /proc/cpuinfo otherwise.
        let cpuinfo = cpuInfo(report["cpuinfo"]?.stringValue ?? "")
        let sockets = records("processor").filter { $0["_title"] == "Processor Information" && ($0["Status"] ?? "").hasPrefix("Populated") }
        let cpuModel = sockets.compactMap { clean($0["Version"]) }.first ?? cpuinfo.model ?? "unknown"
        let cpuMHz = sockets.compactMap { $0["Current Speed"].flatMap { Int($0.split(separator: " ").first ?? "") } }.first ?? cpuinfo.mhz
        let cores = sockets.isEmpty ? cpuinfo.cores : sockets.compactMap { $0["Core Count"].flatMap(Int.init) }.reduce(0, +)
        let threads = sockets.isEmpty ? cpuinfo.threads : sockets.compactMap { $0["Thread Count"].flatMap(Int.init) }.reduce(0, +)
        let socketCount = sockets.isEmpty ? cpuinfo.sockets : sockets.count
        // The seed's mhzTurbo: DMI's Max Speed (the highest clock the socket is rated for); absent without DMI.
        let turboMHz = sockets.compactMap { $0["Max Speed"].flatMap { Int($0.split(separator: " ").first ?? "") } }.max()
        var cpu: [String: JSONValue] = [
            "model": .string(cpuModel), "value": .string(cpuMHz.map(String.init) ?? ""), "count": .integer(Int64(socketCount)),
            "valueType": "MHz", "cores": .string(cores.map(String.init) ?? ""), "threads": .string(String(threads)),
        ]
        if let turboMHz { cpu["mhzTurbo"] = .integer(Int64(turboMHz)) }
        var cpuFields: [(Int64, String)] = []
        if let cores { cpuFields.append((2, String(cores / max(1, socketCount)))) }
        if let turboMHz { cpuFields.append((3, String(turboMHz))) }
        if let cpuMHz { cpuFields.append((4, String(cpuMHz))) }
        cpuFields.append((5, String(threads / max(1, socketCount))))
        for index in 0..<socketCount {
            component("cpu", model: cpuModel, value: cpuMHz.map(String.init), serial: nil, description: "socket \(index + 1)", customFields: cpuFields)
        }

        // Memory: DMI type 17 modules, MemTotal otherwise.
        let modules = records("memory").filter { $0["_title"] == "Memory Device" }.compactMap { module -> JSONValue? in
            guard let size = mebibytes(module["Size"]) else { return nil }
            let model = clean(module["Part Number"]) ?? clean(module["Manufacturer"]) ?? "unknown"
            component("memory", model: model, value: String(size), serial: clean(module["Serial Number"]), description: module["Locator"] ?? "")
            return ["model": .string(model), "size": .string(String(size)), "serial": .string(clean(module["Serial Number"]) ?? ""),
                    "locator": .string(module["Locator"] ?? ""), "type": .string(clean(module["Type"]) ?? ""), "speed": .string(clean(module["Speed"]) ?? "")]
        }
        let memoryTotal: Int
        if modules.isEmpty {
            let kilobytes = (report["meminfo"]?.stringValue ?? "").split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
            memoryTotal = kilobytes / 1024
        } else {
            memoryTotal = modules.compactMap { $0["size"]?.stringValue.flatMap(Int.init) }.reduce(0, +)
        }
        let moduleModels = Set(modules.compactMap { $0["model"]?.stringValue })
        let memory: JSONValue = [
            "model": .string(moduleModels.count == 1 ? moduleModels.first! : (modules.isEmpty ? "unknown" : "multiple")),
            "value": .integer(Int64(memoryTotal)), "count": .integer(Int64(modules.count)), "valueType": "mb", "details": .array(modules),
        ]

        // Disks from lsblk.
        guard case .array(let devices)? = report["lsblk"]?["blockdevices"] else { throw AgentError.invalidField("inventory.lsblk", "expected lsblk -J output") }
        let disks: [JSONValue] = devices.compactMap { device in
            guard device["type"]?.stringValue == "disk", let name = device["name"]?.stringValue,
                !name.hasPrefix("zram"), !name.hasPrefix("loop"), !name.hasPrefix("ram"), device["rm"] != .bool(true)
            else { return nil }
            let bytes: Int64 = switch device["size"] {
            case .integer(let value)?: value
            case .string(let text)?: Int64(text) ?? 0
            default: 0
            }
            guard bytes > 0 else { return nil }
            let transport = device["tran"]?.stringValue ?? ""
            let rotational: Bool = switch device["rota"] {
            case .bool(let flag)?: flag
            case .string(let text)?: text == "1"
            case .integer(let value)?: value != 0
            default: false
            }
            let kind = name.hasPrefix("nvme") || transport == "nvme" ? "NVMe" : (rotational ? "HDD" : "SSD")
            let model = [device["vendor"]?.stringValue, device["model"]?.stringValue].compactMap { clean($0) }.joined(separator: " ")
            let size = bytes / 1_048_576
            component("disk", model: model.isEmpty ? name : model, value: String(size), serial: clean(device["serial"]?.stringValue), description: "\(kind) \(name)",
                      customFields: [(1, diskTypeValues[kind]!)])
            return ["model": .string(model.isEmpty ? name : model), "size": .string(String(size)), "serial": .string(clean(device["serial"]?.stringValue) ?? ""),
                    "type": .string(kind), "name": .string(name), "transport": .string(transport)]
        }
        let diskModels = Set(disks.compactMap { $0["model"]?.stringValue })
        let disk: JSONValue = [
            "model": .string(diskModels.count == 1 ? diskModels.first! : (disks.isEmpty ? "none" : "multiple")),
            "value": .integer(disks.compactMap { $0["size"]?.stringValue.flatMap(Int64.init) }.reduce(0, +)),
            "count": .integer(Int64(disks.count)), "valueType": "mib", "details": .array(disks),
        ]

        // NICs, controllers, software RAID.
        var nicDetails: [JSONValue] = []
        if case .array(let nics)? = report["nics"] {
            for nic in nics {
                let speed = nic["speed"]?.stringValue.flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
                nicDetails.append(["name": nic["name"] ?? "", "mac": nic["mac"] ?? "", "speed": speed.map { .integer(Int64($0)) } ?? .null,
                                   "driver": nic["driver"] ?? "", "state": nic["state"] ?? ""])
                component("nic", model: nic["driver"]?.stringValue, value: speed.map { "\($0) Mbit/s" }, serial: nic["mac"]?.stringValue, description: nic["name"]?.stringValue ?? "")
            }
        }
        let pci = pciDevices(report["lspci"]?.stringValue ?? "")
        let raidControllers = pci.filter { $0.classCode == "0104" }
        let storageControllers = pci.filter { $0.classCode.hasPrefix("01") && $0.classCode != "0104" }
        func controllers(_ list: [(slot: String, classCode: String, className: String, vendor: String, device: String)], _ name: String) -> JSONValue {
            .array(list.map { device in
                component(name, model: "\(device.vendor) \(device.device)", value: device.className, serial: device.slot)
                return ["slot": .string(device.slot), "vendor": .string(device.vendor), "model": .string(device.device), "class": .string(device.className)]
            })
        }
        let raidJSON = controllers(raidControllers, "raid_controller")
        let storageJSON = controllers(storageControllers, "storage_controller")
        let arrays: [JSONValue] = (report["mdstat"]?.stringValue ?? "").split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count >= 4, parts[0].hasPrefix("md"), parts[1] == ":" else { return nil }
            return ["name": .string(String(parts[0])), "state": .string(String(parts[2])), "level": .string(String(parts[3])),
                    "members": .array(parts.dropFirst(4).map { .string(String($0.split(separator: "[").first ?? $0)) })]
        }

        return [
            "mainboard": mainboard, "memory": memory, "cpu": .object(cpu), "disk": disk,
            "bios": ["model": .string(biosVendor ?? ""), "value": .string(biosVersion ?? ""), "serial": .string(biosDate ?? ""), "valueType": "text"],
            "system": ["model": .string(systemModel ?? ""), "value": .string(systemVendor ?? ""), "serial": .string(systemSerial ?? ""), "valueType": "text"],
            "nic": ["count": .integer(Int64(nicDetails.count)), "details": .array(nicDetails)],
            "raid_controller": raidJSON, "storage_controller": storageJSON, "softwareRaid": .array(arrays),
            "components": .array(components),
            "facts": ["disks": .integer(Int64(disks.count)), "hardwareRaid": .bool(!raidControllers.isEmpty)],
            "hostname": .string((report["hostname"]?.stringValue ?? "").trimmingCharacters(in: .whitespacesAndNewlines)),
            "kernel": report["kernel"] ?? "",
        ]
    }
}
