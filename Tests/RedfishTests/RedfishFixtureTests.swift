import AgentCore
import Foundation
import Logging
import PeerHarness
import Power
import Testing

@testable import Redfish

/// Recorded answers of real BMCs and of the DMTF's reference mockup (Tests/Fixtures/redfish), read by the pure parsers.
struct RedfishFixtureTests {
    static let fixtures = PeerTools.repositoryRoot + "/Tests/Fixtures/redfish"

    static func document(_ relativePath: String) throws -> JSONValue {
        try JSONCoding.decoder.decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + relativePath)))
    }

    static func mockup(_ path: String) throws -> JSONValue {
        try document("dmtf-public-rackmount1/" + path + "/index.json")
    }

    @Test func dellIDRACSystemReadsPowerBootAndResetTypes() throws {
        let system = ComputerSystem(path: "/redfish/v1/Systems/System.Embedded.1", document: try Self.document("bmclib/dell/system.embedded.1.json"))
        #expect(system.powerState == .on && system.serverPowerStateWord == "online")
        #expect(system.resetTarget == "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset")
        #expect(system.resetTypes?.contains("PowerCycle") == true && system.resetTypes?.contains("ForceRestart") == true)
        #expect(system.boot == BootOverride(
            target: "None", enabled: "Disabled", mode: "Legacy",
            allowedTargets: ["None", "Pxe", "Floppy", "Cd", "Hdd", "BiosSetup", "Utilities", "UefiTarget", "SDCard", "UefiHttp"]))
        #expect(system.model == "PowerEdge R6515" && system.manufacturer == "Dell Inc." && system.processorCount == 1 && system.memoryGiB == 64)
        #expect(system.managers == ["/redfish/v1/Managers/iDRAC.Embedded.1"])
        let root = ServiceRoot(try Self.document("bmclib/dell/serviceroot.json"))
        #expect(root.sessionsPath == "/redfish/v1/SessionService/Sessions" && root.systems == "/redfish/v1/Systems")
    }

    /// Supermicro 1.14 runs two reset types together and points at an ActionInfo as well.
    @Test func supermicroRunTogetherResetTypesAreSplit() throws {
        let system = ComputerSystem(path: "/redfish/v1/Systems/1", document: try Self.document("bmclib/smc_1.14.0_systems_1.json"))
        #expect(system.resetTypes == ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi", "ForceOn"])
        #expect(system.resetActionInfo == "/redfish/v1/Systems/1/ResetActionInfo")
        #expect(system.boot?.mode == "UEFI" && system.boot?.enabled == "Continuous" && system.boot?.allowedTargets?.contains("UefiHttp") == true)
        #expect(ResetType.advertised(["GracefulShutdownGracefulRestart", "Bogus", "On"]) == ["GracefulShutdown", "GracefulRestart", "Bogus", "On"])
        // A hostile value is kept as it is, at once: no deep recursion over a long run of names.
        let hostile = String(repeating: "On", count: 200_000)
        #expect(ResetType.advertised([hostile]) == [hostile])
        for root in ["bmclib/smc_1.14.0_serviceroot.json", "bmclib/smc_1.9.0_serviceroot.json"] {
            #expect(ServiceRoot(try Self.document(root)).sessionsPath == "/redfish/v1/SessionService/Sessions", "\(root)")
        }
    }

    @Test func dmtfMockupInventoryParses() throws {
        let system = ComputerSystem(path: "/redfish/v1/Systems/437XR1138R2", document: try Self.mockup("Systems/437XR1138R2"))
        #expect(system.lastResetTime == "2021-03-13T04:02:57+06:00")
        #expect(RedfishTime.moved(from: "2021-03-13T04:02:57+06:00", to: "2021-03-13T04:03:00+06:00"))
        #expect(!RedfishTime.moved(from: "2021-03-13T04:02:57+06:00", to: "2021-03-12T22:02:57Z"), "the same instant, written another way")
        #expect(!RedfishTime.moved(from: nil, to: "2021-03-13T04:02:57+06:00") && !RedfishTime.moved(from: "x", to: "y"))
        var inventory = RedfishInventory(system: system)
        inventory.processors = try ["CPU1", "CPU2", "FPGA1"].compactMap { RedfishInventory.processor(try Self.mockup("Systems/437XR1138R2/Processors/\($0)")) }
        #expect(inventory.processors.map(\.id) == ["CPU1"], "CPU2's socket is empty (Absent) and the FPGA is not a CPU")
        #expect(inventory.processors.first?.cores == 8 && inventory.processors.first?.threads == 16 && inventory.processors.first?.maxSpeedMHz == 3700)
        inventory.memory = try ["DIMM1", "DIMM2", "DIMM3", "DIMM4"].compactMap { RedfishInventory.memoryModule(try Self.mockup("Systems/437XR1138R2/Memory/\($0)")) }
        #expect(inventory.memory.first?.capacityMiB == 32768 && inventory.memory.first?.type == "DDR4")
        let nic = RedfishInventory.networkInterface(try Self.mockup("Systems/437XR1138R2/EthernetInterfaces/12446A3B0411"))
        #expect(nic?.macAddress == "12:44:6a:3b:04:11" && nic?.speedMbps == 1000 && nic?.linkStatus == "LinkUp")
        inventory.networkInterfaces = nic.map { [$0] } ?? []
        guard case .array(let devices)? = try Self.mockup("Systems/437XR1138R2/SimpleStorage/1")["Devices"] else {
            Issue.record("no Devices")
            return
        }
        inventory.drives = devices.compactMap(RedfishInventory.drive)
        #expect(inventory.drives.map(\.model) == ["3000GT8", "3000GT7"], "absent bays are not drives")
        #expect(inventory.drives.first?.capacityBytes == 8_000_000_000_000)
        let encoded = try JSONValue(encoding: inventory)
        guard case .array(let components)? = encoded["components"] else {
            Issue.record("no components")
            return
        }
        #expect(components.filter { $0["componentname"] == "cpu" }.count == 1 && components.filter { $0["componentname"] == "memory" }.count == 3)
        #expect(components.contains { $0["componentname"] == "nic" && $0["value"] == "12:44:6a:3b:04:11" })
        #expect(components.contains { $0["componentname"] == "disk" && $0["value"] == .string(String(8_000_000_000_000 / 1_048_576)) })
    }

    @Test func dmtfMockupSensorsAndEventLogParse() throws {
        let thermal = SensorReading.thermal(try Self.mockup("Chassis/1U/Thermal"))
        #expect(thermal.first == SensorReading(name: "CPU1 Temp", id: "0", status: "ok", entity: "CPU", value: 41, unit: "degrees C", reading: "41 degrees C"))
        #expect(thermal.contains { $0.name == "BaseBoard System Fan" && $0.value == 2100 && $0.unit == "RPM" })
        let power = SensorReading.power(try Self.mockup("Chassis/1U/Power"))
        #expect(power.contains { $0.name == "VRM1 Voltage" && $0.value == 12 && $0.unit == "Volts" })
        guard case .array(let members)? = try Self.mockup("Systems/437XR1138R2/LogServices/Log1/Entries")["Members"] else {
            Issue.record("no entries")
            return
        }
        let entries = members.compactMap(RedfishLogEntry.init)
        #expect(entries.count == 2 && entries.first?.date == "2012-03-07" && entries.first?.time == "14:44:00Z")
        #expect(entries.first?.sensor == "Temperature" && entries.first?.event == "Temperature threshold exceeded" && entries.first?.direction == "Asserted")
        #expect(entries.first?.severity == "Critical")
    }

    @Test func supermicroDIMMAndNVMeDrivesParse() throws {
        let dimm = RedfishInventory.memoryModule(try Self.document("bmclib/smc_dimm/memory_dimm1.json"))
        #expect(dimm != nil && (dimm?.capacityMiB ?? 0) > 0)
        for bay in ["drive_bay2", "drive_bay3"] {
            let drive = RedfishInventory.drive(try Self.document("bmclib/smc_nvme_storage/\(bay).json"))
            #expect(drive?.capacityBytes != nil && drive?.model != nil, "\(bay)")
        }
        let nic = RedfishInventory.networkInterface(try Self.document("bmclib/bmc_nic/ethernet_1.json"))
        #expect(nic?.macAddress.count == 17)
    }

    @Test func actionInfoListsResetTypes() throws {
        let info: JSONValue = ["Parameters": [["Name": "ResetType", "AllowableValues": ["On", "ForceOff", "PowerCycle"]]]]
        #expect(ActionInfo.allowedValues(info) == ["On", "ForceOff", "PowerCycle"])
        #expect(ActionInfo.allowedValues(["Parameters": "nonsense"]) == nil)
    }

    /// Links from answers are followed only inside the service: no other host, no `..`, no encoded slash.
    @Test func linksOutsideTheServiceAreNotFollowed() {
        #expect(RedfishPath.checked("/redfish/v1/Systems/System.Embedded.1") == "/redfish/v1/Systems/System.Embedded.1")
        #expect(RedfishPath.checked("/redfish/v1/Systems/1/?$expand=.") == "/redfish/v1/Systems/1")
        #expect(RedfishPath.checked("/redfish/v1/Chassis/NIC.Integrated.1-1-1%20Port") == "/redfish/v1/Chassis/NIC.Integrated.1-1-1%20Port")
        for hostile in [
            "https://evil.example/redfish/v1/Systems", "//evil.example/redfish/v1", "/redfish/v1/../../etc/passwd", "/redfish/v1/Systems/%2e%2e",
            "/redfish/v1/Systems/a%2Fb", "/redfish/v10", "/redfish/v1/Systems//1", "/redfish/v1/Sys tems", "/redfish/v1/Systems/1\r\nX-Evil: 1", "",
        ] {
            #expect(RedfishPath.checked(hostile) == nil, "\(hostile.debugDescription)")
        }
    }

    @Test func connectionMetaIsValidated() throws {
        let connection = try (["ip": "10.0.0.5", "username": "root", "password": "calvin", "certificateSha256": .string(String(repeating: "ab", count: 32))] as JSONValue)
            .decode(as: RedfishConnection.self, at: "connection.meta")
        #expect(connection.port == 443 && connection.scheme == .https && connection.address == "10.0.0.5:443")
        #expect(connection.certificateSHA256 == Array(repeating: "AB", count: 32).joined(separator: ":"))
        let plain = try (["ip": "127.0.0.1", "port": "8000", "scheme": "http", "username": "u", "password": "p"] as JSONValue)
            .decode(as: RedfishConnection.self, at: "connection.meta")
        #expect(plain.origin == "http://127.0.0.1:8000")
        let cases: [(JSONValue, String)] = [
            (["ip": "10.0.0.5\nx", "username": "root", "password": "p"], "connection.meta.ip"),
            (["ip": "10.0.0.5", "username": "ro:ot", "password": "p"], "connection.meta.username"),
            (["ip": "10.0.0.5", "username": "root", "password": "p\r\n"], "connection.meta.password"),
            (["ip": "10.0.0.5", "username": "root", "password": "p", "scheme": "ftp"], "connection.meta.scheme"),
            (["ip": "10.0.0.5", "username": "root", "password": "p", "port": 70000], "connection.meta.port"),
            (["ip": "10.0.0.5", "username": "root", "password": "p", "certificateSha256": "abc"], "connection.meta.certificateSha256"),
            (["ip": "10.0.0.5", "username": "root", "password": "p", "systemId": "../Managers"], "connection.meta.systemId"),
        ]
        for (meta, field) in cases {
            do {
                _ = try meta.decode(as: RedfishConnection.self, at: "connection.meta")
                Issue.record("accepted \(meta.jsonText)")
            } catch {
                #expect(AgentError.from(error).details["field"] == .string(field), "\(meta.jsonText): \(AgentError.from(error).message)")
                #expect(!AgentError.from(error).message.contains("calvin"))
            }
        }
    }
}

extension ComputerSystem {
    var serverPowerStateWord: String? { powerState?.serverPowerState.rawValue }
}

/// The pinned certificate policy refuses an unpinned https connection before any job exists.
struct RedfishPinnedPolicyTests {
    @Test func anUnpinnedConnectionIsABadRequestUnderThePinnedPolicy() throws {
        var settings = RedfishConfiguration()
        settings.certificatePolicy = .pinned
        let driver = RedfishPowerDriver(service: RedfishService(client: RedfishClient(
            transport: NIORedfishTransport(), trust: ProcessCertificateTrust(), settings: settings, logger: Logger(label: "test"))))
        let meta: JSONValue = ["ip": "10.0.0.5", "username": "root", "password": "calvin"]
        do {
            _ = try driver.target(meta: meta, path: "connection.meta")
            Issue.record("an unpinned connection was accepted")
        } catch {
            #expect(AgentError.from(error).details["field"] == "connection.meta.certificateSha256")
        }
        var pinned = meta
        if case .object(var members) = pinned { members["certificateSha256"] = .string(String(repeating: "a", count: 64)); pinned = .object(members) }
        #expect(try driver.target(meta: pinned, path: "connection.meta") == "redfish:10.0.0.5:443")
        #expect(try (["ip": "BMC-7.Example.NET", "username": "u", "password": "p"] as JSONValue).decode(as: RedfishConnection.self, at: "m").address
            == "bmc-7.example.net:443")
    }
}
