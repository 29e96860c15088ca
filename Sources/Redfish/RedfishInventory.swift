import AgentCore

/// What a Redfish BMC says the server is made of: the system, its processors, memory modules, network interfaces (the
/// MACs DHCP needs) and drives, the BMC's firmware, and the same as the seed's inventory items (`components`).
public struct RedfishInventory: Sendable, Codable, Equatable {
    public struct SystemSummary: Sendable, Codable, Equatable {
        public var manufacturer: String?
        public var model: String?
        public var serialNumber: String?
        public var sku: String?
        public var biosVersion: String?
        public var uuid: String?
        public var health: String?
        public var powerState: String?
        public var processorCount: Int?
        public var memoryGiB: Double?
    }

    public struct Processor: Sendable, Codable, Equatable {
        public var id: String?
        public var socket: String?
        public var manufacturer: String?
        public var model: String?
        public var cores: Int?
        public var threads: Int?
        public var maxSpeedMHz: Int?
        public var health: String?
    }

    public struct MemoryModule: Sendable, Codable, Equatable {
        public var id: String?
        public var name: String?
        public var capacityMiB: Int
        public var type: String?
        public var speedMHz: Int?
        public var manufacturer: String?
        public var partNumber: String?
        public var serialNumber: String?
        public var health: String?
    }

    public struct NetworkInterface: Sendable, Codable, Equatable {
        public var id: String?
        /// Lower-case, colon-separated.
        public var macAddress: String
        public var permanentMACAddress: String?
        public var speedMbps: Int?
        public var linkStatus: String?
        public var health: String?
    }

    public struct Drive: Sendable, Codable, Equatable {
        public var name: String?
        public var manufacturer: String?
        public var model: String?
        public var serialNumber: String?
        public var capacityBytes: Int64?
        /// `HDD`, `SSD` as reported.
        public var mediaType: String?
        /// `SATA`, `SAS`, `NVMe` as reported.
        public var `protocol`: String?
        public var health: String?
    }

    public struct ManagerSummary: Sendable, Codable, Equatable {
        public var model: String?
        public var firmwareVersion: String?
    }

    public var system: SystemSummary
    public var processors: [Processor] = []
    public var memory: [MemoryModule] = []
    public var networkInterfaces: [NetworkInterface] = []
    public var drives: [Drive] = []
    public var bmc: ManagerSummary?
    /// Collections the system links to that the BMC would not list (404, 5xx), with its answer: the inventory is
    /// partial there, and says so.
    public var unavailable: [String: String] = [:]

    public init(system: ComputerSystem) {
        self.system = SystemSummary(
            manufacturer: system.manufacturer, model: system.model, serialNumber: system.serialNumber, sku: system.sku, biosVersion: system.biosVersion,
            uuid: system.uuid, health: system.health, powerState: system.reportedPowerState, processorCount: system.processorCount,
            memoryGiB: system.memoryGiB)
    }

    // MARK: Pure readings of member documents

    static func health(_ document: JSONValue) -> String? { document["Status"]?["Health"]?.stringValue }

    /// Absent slots and bays are not inventory.
    static func isAbsent(_ document: JSONValue) -> Bool { document["Status"]?["State"]?.stringValue == "Absent" }

    /// A processor document; nil for an empty socket or a non-CPU (an FPGA or GPU listed beside the CPUs).
    public static func processor(_ document: JSONValue) -> Processor? {
        guard !isAbsent(document) else { return nil }
        if let type = document["ProcessorType"]?.stringValue, type != "CPU" { return nil }
        return Processor(
            id: document["Id"]?.stringValue, socket: document["Socket"]?.stringValue, manufacturer: document["Manufacturer"]?.stringValue,
            model: document["Model"]?.stringValue, cores: document["TotalCores"]?.intValue, threads: document["TotalThreads"]?.intValue,
            maxSpeedMHz: document["MaxSpeedMHz"]?.intValue, health: health(document))
    }

    /// A memory document; nil for an empty slot.
    public static func memoryModule(_ document: JSONValue) -> MemoryModule? {
        guard !isAbsent(document), let capacity = document["CapacityMiB"]?.intValue, capacity > 0 else { return nil }
        return MemoryModule(
            id: document["Id"]?.stringValue, name: document["DeviceLocator"]?.stringValue ?? document["Name"]?.stringValue, capacityMiB: capacity,
            type: document["MemoryDeviceType"]?.stringValue, speedMHz: document["OperatingSpeedMhz"]?.intValue,
            manufacturer: document["Manufacturer"]?.stringValue, partNumber: document["PartNumber"]?.stringValue?.trimmingCharacters(in: .whitespaces),
            serialNumber: document["SerialNumber"]?.stringValue, health: health(document))
    }

    /// An Ethernet interface document; nil without a usable MAC address.
    public static func networkInterface(_ document: JSONValue) -> NetworkInterface? {
        guard let mac = (document["MACAddress"]?.stringValue).flatMap(normalisedMAC) ?? (document["PermanentMACAddress"]?.stringValue).flatMap(normalisedMAC)
        else { return nil }
        return NetworkInterface(
            id: document["Id"]?.stringValue, macAddress: mac, permanentMACAddress: (document["PermanentMACAddress"]?.stringValue).flatMap(normalisedMAC),
            speedMbps: document["SpeedMbps"]?.intValue, linkStatus: document["LinkStatus"]?.stringValue, health: health(document))
    }

    /// A `Drive` document (Storage) or one entry of a SimpleStorage `Devices` list; nil for an empty bay.
    public static func drive(_ document: JSONValue) -> Drive? {
        guard !isAbsent(document) else { return nil }
        let capacity = document["CapacityBytes"].flatMap { value -> Int64? in
            if case .integer(let bytes) = value { return bytes }
            return value.doubleValue.flatMap { $0 >= 0 && $0 < 9.2e18 ? Int64($0) : nil }
        }
        return Drive(
            name: document["Name"]?.stringValue, manufacturer: document["Manufacturer"]?.stringValue, model: document["Model"]?.stringValue,
            serialNumber: document["SerialNumber"]?.stringValue, capacityBytes: capacity, mediaType: document["MediaType"]?.stringValue,
            protocol: document["Protocol"]?.stringValue, health: health(document))
    }

    /// `12:44:6A:3B:04:11` or `12-44-6a-3b-04-11` → `12:44:6a:3b:04:11`; nil for anything else (and the all-zero address).
    public static func normalisedMAC(_ text: String) -> String? {
        let parts = text.trimmingCharacters(in: .whitespaces).lowercased().split(whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6, parts.allSatisfy({ $0.utf8.count == 2 && $0.allSatisfy(\.isHexDigit) }) else { return nil }
        let mac = parts.joined(separator: ":")
        return mac == "00:00:00:00:00:00" ? nil : mac
    }

    /// The seed's inventory items (`componentname`, `model`, `value`, `serial`, `description`), as hardware detection
    /// reports them from inside the machine.
    public var components: [JSONValue] {
        var items: [JSONValue] = []
        func item(_ name: String, model: String?, value: String?, serial: String?, description: String? = nil) {
            items.append([
                "componentname": .string(name), "model": .string(model ?? ""), "value": .string(value ?? ""), "serial": .string(serial ?? ""),
                "description": .string(description ?? ""),
            ])
        }
        if system.model != nil { item("system", model: system.model, value: system.manufacturer, serial: system.serialNumber) }
        if let bios = system.biosVersion { item("bios", model: system.manufacturer, value: bios, serial: nil) }
        for processor in processors {
            item("cpu", model: processor.model, value: processor.maxSpeedMHz.map(String.init), serial: nil, description: processor.socket)
        }
        for module in memory {
            item("memory", model: module.partNumber ?? module.manufacturer, value: String(module.capacityMiB), serial: module.serialNumber, description: module.name)
        }
        for drive in drives {
            item("disk", model: drive.model, value: drive.capacityBytes.map { String($0 / 1_048_576) }, serial: drive.serialNumber, description: drive.mediaType)
        }
        for interface in networkInterfaces { item("nic", model: interface.id, value: interface.macAddress, serial: nil, description: interface.linkStatus) }
        return items
    }

    enum CodingKeys: String, CodingKey { case system, processors, memory, networkInterfaces, drives, bmc, unavailable, components }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        system = try container.decode(SystemSummary.self, forKey: .system)
        processors = try container.decode([Processor].self, forKey: .processors)
        memory = try container.decode([MemoryModule].self, forKey: .memory)
        networkInterfaces = try container.decode([NetworkInterface].self, forKey: .networkInterfaces)
        drives = try container.decode([Drive].self, forKey: .drives)
        bmc = try container.decodeIfPresent(ManagerSummary.self, forKey: .bmc)
        unavailable = try container.decodeIfPresent([String: String].self, forKey: .unavailable) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(system, forKey: .system)
        try container.encode(processors, forKey: .processors)
        try container.encode(memory, forKey: .memory)
        try container.encode(networkInterfaces, forKey: .networkInterfaces)
        try container.encode(drives, forKey: .drives)
        try container.encodeIfPresent(bmc, forKey: .bmc)
        if !unavailable.isEmpty { try container.encode(unavailable, forKey: .unavailable) }
        try container.encode(components, forKey: .components)
    }
}

extension RedfishService {
    /// Members read per collection at most: a BMC that lists more is not describing one server.
    static let maximumMembers = 128
    /// The whole inventory's bound: about 200 reads at a BMC's pace.
    static let inventoryDeadline = Duration.seconds(180)

    /// Reads the system and its collections (processors, memory, Ethernet interfaces, Storage drives or SimpleStorage
    /// devices) and the BMC's firmware, within ``inventoryDeadline``. A collection the BMC does not offer is left empty.
    public func inventory(_ connection: RedfishConnection) async throws -> RedfishInventory {
        try await withDeadline(Self.inventoryDeadline, timeoutError: { RedfishError.timeout(bmc: connection.address, seconds: Self.inventoryDeadline.inSeconds) }) {
            try await readInventory(connection)
        }
    }

    func readInventory(_ connection: RedfishConnection) async throws -> RedfishInventory {
        let system = try await self.system(connection)
        var inventory = RedfishInventory(system: system)
        inventory.processors = try await members(system.processors, connection, &inventory).compactMap(RedfishInventory.processor)
        inventory.memory = try await members(system.memory, connection, &inventory).compactMap(RedfishInventory.memoryModule)
        inventory.networkInterfaces = try await members(system.ethernetInterfaces, connection, &inventory).compactMap(RedfishInventory.networkInterface)
        if let storage = system.storage {
            for controller in try await members(storage, connection, &inventory) {
                for drive in controller.links("Drives").prefix(max(0, Self.maximumMembers - inventory.drives.count)) {
                    if let parsed = RedfishInventory.drive(try await document(drive, connection)) { inventory.drives.append(parsed) }
                }
            }
        } else {
            for controller in try await members(system.simpleStorage, connection, &inventory) {
                guard case .array(let devices) = controller["Devices"] ?? .null else { continue }
                inventory.drives += devices.prefix(Self.maximumMembers).compactMap(RedfishInventory.drive)
            }
        }
        if let manager = try? await manager(connection) {
            inventory.bmc = RedfishInventory.ManagerSummary(model: manager.model, firmwareVersion: manager.firmwareVersion)
        }
        return inventory
    }

    /// The member documents of a collection (none when the collection is absent).
    /// A collection the system links to but the BMC will not list (404 or 5xx: emulators, firmware with the feature off)
    /// is empty, and named in the inventory's `unavailable`.
    func members(_ collection: String?, _ connection: RedfishConnection, _ inventory: inout RedfishInventory) async throws -> [JSONValue] {
        guard let collection else { return [] }
        let listing: JSONValue
        do {
            listing = try await document(collection, connection)
        } catch let error as RedfishError {
            switch error {
            case .refused(_, let status, let message), .serverError(_, let status, let message):
                inventory.unavailable[collection] = "HTTP \(status): \(message)"
                return []
            default: throw error
            }
        }
        var documents: [JSONValue] = []
        for member in listing.links().prefix(Self.maximumMembers) {
            documents.append(try await document(member, connection))
        }
        return documents
    }
}
