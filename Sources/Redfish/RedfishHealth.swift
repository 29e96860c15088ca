import AgentCore

/// Readings of a chassis' Thermal (temperatures, fans) and Power (voltages, consumption), as the IPMI sensor list
/// gives them.
extension SensorReading {
    /// The readings of a Thermal document.
    public static func thermal(_ document: JSONValue) -> [SensorReading] {
        entries(document["Temperatures"]).compactMap { sensor($0, valueKey: "ReadingCelsius", unit: "degrees C") }
            + entries(document["Fans"]).compactMap { fan in sensor(fan, valueKey: "Reading", unit: fan["ReadingUnits"]?.stringValue ?? "RPM") }
    }

    /// The readings of a Power document: voltages and the power consumed.
    public static func power(_ document: JSONValue) -> [SensorReading] {
        entries(document["Voltages"]).compactMap { sensor($0, valueKey: "ReadingVolts", unit: "Volts") }
            + entries(document["PowerControl"]).compactMap { sensor($0, valueKey: "PowerConsumedWatts", unit: "Watts") }
    }

    static func entries(_ value: JSONValue?) -> [JSONValue] {
        guard case .array(let entries)? = value else { return [] }
        return Array(entries.prefix(256))
    }

    static func sensor(_ document: JSONValue, valueKey: String, unit: String) -> SensorReading? {
        guard let name = document["Name"]?.stringValue else { return nil }
        let value = document[valueKey]?.doubleValue
        let state = document["Status"]?["State"]?.stringValue
        let status: String
        switch (state, document["Status"]?["Health"]?.stringValue) {
        case ("Absent", _), (_, _) where value == nil: status = "ns"
        case (_, "Critical"): status = "cr"
        case (_, "Warning"): status = "nc"
        default: status = "ok"
        }
        let reading = value.map { number in
            let text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            return "\(text) \(unit)"
        } ?? (state == "Absent" ? "Absent" : "No Reading")
        return SensorReading(
            name: name, id: document["MemberId"]?.stringValue ?? document["SensorNumber"].map { $0.stringValue ?? $0.jsonText } ?? name,
            status: status, entity: document["PhysicalContext"]?.stringValue ?? "", value: value, unit: value == nil ? nil : unit, reading: reading)
    }
}

/// One entry of a BMC's event log (`LogEntry`), in the shape the IPMI SEL list has (`id`, `date`, `time`, `sensor`,
/// `event`, `direction`), with the Redfish severity.
public struct RedfishLogEntry: Sendable, Codable, Equatable {
    public var id: String
    public var date: String
    public var time: String
    public var sensor: String
    public var event: String
    public var direction: String?
    public var severity: String?

    public init?(_ document: JSONValue) {
        guard let id = document["Id"]?.stringValue else { return nil }
        self.id = id
        let created = document["Created"]?.stringValue ?? ""
        let parts = created.split(separator: "T", maxSplits: 1)
        date = parts.first.map(String.init) ?? ""
        time = parts.count > 1 ? String(parts[1]) : ""
        sensor = document["SensorType"]?.stringValue ?? document["EntryType"]?.stringValue ?? ""
        event = document["Message"]?.stringValue ?? document["EntryCode"]?.stringValue ?? ""
        direction = document["EntryCode"]?.stringValue.flatMap { code in
            code.contains("going high") || code.contains("Asserted") ? "Asserted" : (code.contains("going low") || code.contains("Deasserted") ? "Deasserted" : nil)
        }
        severity = document["Severity"]?.stringValue
    }
}

extension RedfishService {
    /// Temperatures, fans, voltages and power consumption of every chassis (at most 16).
    public func sensors(_ connection: RedfishConnection) async throws -> [SensorReading] {
        guard let chassisCollection = ServiceRoot(try await document(RedfishPath.root, connection)).chassis else {
            throw RedfishError.unsupported(bmc: connection.address, detail: "the service lists no Chassis")
        }
        var readings: [SensorReading] = []
        for chassis in try await document(chassisCollection, connection).links().prefix(16) {
            let resource = try await document(chassis, connection)
            if let thermal = resource.link("Thermal") { readings += SensorReading.thermal(try await document(thermal, connection)) }
            if let power = resource.link("Power") { readings += SensorReading.power(try await document(power, connection)) }
        }
        return readings
    }

    /// The system's event log service: the one whose entries are SEL entries (or whose id says so), else the first.
    func eventLog(_ connection: RedfishConnection) async throws -> (path: String, document: JSONValue) {
        let system = try await self.system(connection)
        var collection = system.logServices
        if collection == nil { collection = try await manager(connection).logServices }
        guard let collection else { throw RedfishError.unsupported(bmc: connection.address, detail: "the BMC offers no log service") }
        var services: [(String, JSONValue)] = []
        for member in try await document(collection, connection).links().prefix(16) { services.append((member, try await document(member, connection))) }
        let chosen = services.first { $0.1["LogEntryType"]?.stringValue == "SEL" || ($0.1["Id"]?.stringValue ?? "").localizedCaseInsensitiveContains("sel") }
            ?? services.first
        guard let (path, log) = chosen else { throw RedfishError.unsupported(bmc: connection.address, detail: "the log service collection is empty") }
        return (path, log)
    }

    /// The event log's entries (at most 512; entries listed inline are read as they are, others fetched).
    public func logEntries(_ connection: RedfishConnection) async throws -> [RedfishLogEntry] {
        let (_, log) = try await eventLog(connection)
        guard let entriesPath = log.link("Entries") else { return [] }
        let listing = try await document(entriesPath, connection)
        guard case .array(let members)? = listing["Members"] else { return [] }
        var entries: [RedfishLogEntry] = []
        for member in members.prefix(512) {
            if let entry = RedfishLogEntry(member) {
                entries.append(entry)
            } else if let path = member["@odata.id"]?.stringValue.flatMap(RedfishPath.checked), let entry = RedfishLogEntry(try await document(path, connection)) {
                entries.append(entry)
            }
        }
        return entries
    }

    /// Clears the event log (`LogService.ClearLog`) and reads back that it is empty.
    public func clearLog(_ connection: RedfishConnection) async throws -> String {
        let name = "event log clear on Redfish BMC \(connection.address)"
        let target: String
        do {
            let (_, log) = try await eventLog(connection)
            guard let clear = log["Actions"]?["#LogService.ClearLog"]?["target"]?.stringValue.flatMap(RedfishPath.checked) else {
                throw RedfishError.unsupported(bmc: connection.address, detail: "the log service has no ClearLog action")
            }
            target = clear
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        do {
            _ = try await client.post(target, body: [:], on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.whileSending(name, error)
        }
        do {
            let left = try await logEntries(connection)
            // A BMC logs the clearing itself as one entry.
            guard left.count <= 1 else {
                throw RedfishError.verificationFailed(bmc: connection.address, expected: "an empty log", actual: "\(left.count) entries")
            }
            return "cleared"
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
    }
}
