import AgentCore
import Foundation
import Provisioning
import Testing

/// Captured outputs: dmidecode 3.1 of a Supermicro SYS-6019P-WT (two Xeon Gold 6148; serials censored in the
/// capture), and this test machine's own /proc/cpuinfo, /proc/meminfo, lsblk -J and lspci -mm -nn, plus a real
/// lspci line of a Silicon Image RAID controller.
enum CapturedHardware {
    static let dmiBIOS = """
# dmidecode 3.1
Getting SMBIOS data from sysfs.
SMBIOS 3.1.1 present.

Handle 0x0000, DMI type 0, 26 bytes
BIOS Information
\tVendor: American Megatrends Inc.
\tVersion: 2.0a
\tRelease Date: 12/06/2017
\tAddress: 0xF0000
\tRuntime Size: 64 kB
\tROM Size: 32 MB
\tCharacteristics:
\t\tPCI is supported
\t\tBIOS is upgradeable
\t\tUEFI is supported
\tBIOS Revision: 5.12
"""
    static let dmiSystem = """
# dmidecode 3.1
Getting SMBIOS data from sysfs.
SMBIOS 3.1.1 present.

Handle 0x0001, DMI type 1, 27 bytes
System Information
\tManufacturer: Supermicro
\tProduct Name: SYS-6019P-WT
\tVersion: 0123456789
\t(Line containing Serial number has been censored)
\t(Line containing UUID has been censored)
\tWake-up Type: Power Switch
\tSKU Number: To be filled by O.E.M.
\tFamily: To be filled by O.E.M.
"""
    static let dmiBaseboard = """
# dmidecode 3.1
Getting SMBIOS data from sysfs.
SMBIOS 3.1.1 present.

Handle 0x0002, DMI type 2, 15 bytes
Base Board Information
\tManufacturer: Supermicro
\tProduct Name: X11DDW-L
\tVersion: 1.10
\t(Line containing Serial number has been censored)
\tAsset Tag: To be filled by O.E.M.
\tFeatures:
\t\tBoard is a hosting board
\t\tBoard is replaceable
\tLocation In Chassis: To be filled by O.E.M.
\tChassis Handle: 0x0003
\tType: Motherboard
\tContained Object Handles: 0
"""
    static let dmiProcessor = """
# dmidecode 3.1
Getting SMBIOS data from sysfs.
SMBIOS 3.1.1 present.

Handle 0x0048, DMI type 4, 48 bytes
Processor Information
\tSocket Designation: CPU1
\tType: Central Processor
\tFamily: Xeon
\tManufacturer: Intel(R) Corporation
\tID: 54 06 05 00 FF FB EB BF
\tSignature: Type 0, Family 6, Model 85, Stepping 4
\tFlags:
\t\tFPU (Floating-point unit on-chip)
\t\tVME (Virtual mode extension)
\t\tHTT (Multi-threading)
\tVersion: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz
\tVoltage: 1.6 V
\tExternal Clock: 100 MHz
\tMax Speed: 4000 MHz
\tCurrent Speed: 2400 MHz
\tStatus: Populated, Enabled
\tUpgrade: Other
\tL1 Cache Handle: 0x0045
\tL2 Cache Handle: 0x0046
\tL3 Cache Handle: 0x0047
\t(Line containing Serial number has been censored)
\tAsset Tag: UNKNOWN
\tPart Number: Not Specified
\tCore Count: 20
\tCore Enabled: 20
\tThread Count: 40
\tCharacteristics:
\t\t64-bit capable
\t\tMulti-Core
\t\tHardware Thread

Handle 0x004C, DMI type 4, 48 bytes
Processor Information
\tSocket Designation: CPU2
\tType: Central Processor
\tFamily: Xeon
\tManufacturer: Intel(R) Corporation
\tID: 54 06 05 00 FF FB EB BF
\tSignature: Type 0, Family 6, Model 85, Stepping 4
\tFlags:
\t\tFPU (Floating-point unit on-chip)
\t\tVME (Virtual mode extension)
\t\tHTT (Multi-threading)
\tVersion: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz
\tVoltage: 1.6 V
\tExternal Clock: 100 MHz
\tMax Speed: 4000 MHz
\tCurrent Speed: 2400 MHz
\tStatus: Populated, Enabled
\tUpgrade: Other
\tL1 Cache Handle: 0x0049
\tL2 Cache Handle: 0x004A
\tL3 Cache Handle: 0x004B
\t(Line containing Serial number has been censored)
\tAsset Tag: UNKNOWN
\tPart Number: Not Specified
\tCore Count: 20
\tCore Enabled: 20
\tThread Count: 40
\tCharacteristics:
\t\t64-bit capable
\t\tMulti-Core
\t\tHardware Thread

"""
    static let dmiMemory = """
# dmidecode 3.1
Getting SMBIOS data from sysfs.
SMBIOS 3.1.1 present.

Handle 0x001A, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x0019
\tError Information Handle: Not Provided
\tTotal Width: 72 bits
\tData Width: 64 bits
\tSize: 8192 MB
\tForm Factor: DIMM
\tSet: None
\tLocator: P1-DIMMA1
\tBank Locator: P0_Node0_Channel0_Dimm0
\tType: DDR4
\tType Detail: Synchronous
\tSpeed: 2666 MT/s
\tManufacturer: Micron Technology
\t(Line containing Serial number has been censored)
\tAsset Tag: P1-DIMMA1_AssetTag (date:17/36)
\tPart Number: 18ASF1G72PDZ-2G6B1  
\tRank: 2
\tConfigured Clock Speed: 2666 MT/s
\tMinimum Voltage: 1.2 V
\tMaximum Voltage: 1.2 V
\tConfigured Voltage: 1.2 V

Handle 0x001C, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x0019
\tError Information Handle: Not Provided
\tTotal Width: 72 bits
\tData Width: 64 bits
\tSize: 8192 MB
\tForm Factor: DIMM
\tSet: None
\tLocator: P1-DIMMB1
\tBank Locator: P0_Node0_Channel1_Dimm0
\tType: DDR4
\tType Detail: Synchronous
\tSpeed: 2666 MT/s
\tManufacturer: Micron Technology
\t(Line containing Serial number has been censored)
\tAsset Tag: P1-DIMMB1_AssetTag (date:17/36)
\tPart Number: 18ASF1G72PDZ-2G6B1  
\tRank: 2
\tConfigured Clock Speed: 2666 MT/s
\tMinimum Voltage: 1.2 V
\tMaximum Voltage: 1.2 V
\tConfigured Voltage: 1.2 V

Handle 0x0028, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x0027
\tError Information Handle: Not Provided
\tTotal Width: 72 bits
\tData Width: 64 bits
\tSize: 8192 MB
\tForm Factor: DIMM
\tSet: None
\tLocator: P2-DIMMA1
\tBank Locator: P1_Node0_Channel0_Dimm0
\tType: DDR4
\tType Detail: Synchronous
\tSpeed: 2666 MT/s
\tManufacturer: Micron Technology
\t(Line containing Serial number has been censored)
\tAsset Tag: P2-DIMMA1_AssetTag (date:17/36)
\tPart Number: 18ASF1G72PDZ-2G6B1  
\tRank: 2
\tConfigured Clock Speed: 2666 MT/s
\tMinimum Voltage: 1.2 V
\tMaximum Voltage: 1.2 V
\tConfigured Voltage: 1.2 V

Handle 0x002A, DMI type 17, 40 bytes
Memory Device
\tArray Handle: 0x0027
\tError Information Handle: Not Provided
\tTotal Width: 72 bits
\tData Width: 64 bits
\tSize: 8192 MB
\tForm Factor: DIMM
\tSet: None
\tLocator: P2-DIMMB1
\tBank Locator: P1_Node0_Channel1_Dimm0
\tType: DDR4
\tType Detail: Synchronous
\tSpeed: 2666 MT/s
\tManufacturer: Micron Technology
\t(Line containing Serial number has been censored)
\tAsset Tag: P2-DIMMB1_AssetTag (date:17/36)
\tPart Number: 18ASF1G72PDZ-2G6B1  
\tRank: 2
\tConfigured Clock Speed: 2666 MT/s
\tMinimum Voltage: 1.2 V
\tMaximum Voltage: 1.2 V
\tConfigured Voltage: 1.2 V

"""
    static let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.404\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\nprocessor\t: 1\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2445.404\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\n"
    static let meminfo = "MemTotal:       24683656 kB\n"
    static let lsblk: JSONValue = ["blockdevices": [
        ["name": "zram0", "size": 0, "type": "disk", "rota": false, "tran": nil, "model": nil, "serial": nil, "vendor": nil, "rm": false, "ro": false],
        ["name": "vda", "size": 274_877_906_944, "type": "disk", "rota": true, "tran": nil, "model": nil, "serial": nil, "vendor": "0x1af4", "rm": false, "ro": false],
        ["name": "nvme0n1", "size": 1_000_204_886_016, "type": "disk", "rota": false, "tran": "nvme", "model": "Samsung SSD 980 PRO 1TB", "serial": "S5GXNF0R123456", "vendor": nil, "rm": false, "ro": false],
        ["name": "sr0", "size": 1_073_741_312, "type": "rom", "rota": true, "tran": "sata", "model": "DVD-ROM", "serial": nil, "vendor": nil, "rm": true, "ro": false],
    ]]
    static let lspci = """
    00:00.0 "Host bridge [0600]" "Intel Corporation [8086]" "Device [0d57]" -p00 "" ""
    00:02.0 "Mass storage controller [0180]" "Red Hat, Inc. [1af4]" "Virtio 1.0 block device [1042]" -r01 -p00 "Red Hat, Inc. [1af4]" "Virtio 1.0 block device [1042]"
    00:03.0 "Ethernet controller [0200]" "Red Hat, Inc. [1af4]" "Virtio 1.0 network device [1041]" -r01 -p00 "Red Hat, Inc. [1af4]" "Virtio 1.0 network device [1041]"
    00:0d.0 "RAID bus controller [0104]" "Silicon Image, Inc. [1095]" "SiI 3114 [SATALink/SATARaid] Serial ATA Controller [3114]" -r02 "Silicon Image, Inc. [1095]" "SiI 3114 SATARaid Controller [6114]"

    """
    static let mdstat = "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      1046528 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n"

    static func report(dmi: Bool) -> JSONValue {
        [
            "format": "rackagent-hwdetect-1", "hostname": "vm\n", "kernel": "6.1.0-28-amd64",
            "cpuinfo": .string(cpuinfo), "meminfo": .string(meminfo),
            "dmidecode": dmi
                ? ["bios": .string(dmiBIOS), "system": .string(dmiSystem), "baseboard": .string(dmiBaseboard), "processor": .string(dmiProcessor), "memory": .string(dmiMemory)]
                : ["bios": "# dmidecode 3.4\nScanning /dev/mem for entry point.\n", "system": "", "baseboard": "", "processor": "", "memory": ""],
            "dmiId": [:], "lsblk": lsblk,
            "nics": [["name": "eth0", "mac": "02:fc:00:00:00:01", "speed": "-1", "driver": "virtio_net", "state": "up"]],
            "lspci": .string(lspci), "mdstat": .string(mdstat),
        ]
    }
}

@Suite struct HardwareInventoryTests {
    @Test func aSupermicroServerNormalisesToTheSeedsComponents() throws {
        let inventory = try HardwareInventory.normalize(CapturedHardware.report(dmi: true))
        #expect(inventory["mainboard"] == [
            "model": "X11DDW-L", "value": "1.10", "count": 1, "valueType": "text",
            "details": [["model": "X11DDW-L", "size": "1.10", "serial": "", "manufacturer": "Supermicro"]],
        ])
        #expect(inventory["cpu"] == [
            "model": "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "value": "2400", "count": 2, "valueType": "MHz", "cores": "40", "threads": "80",
            "mhzTurbo": 4000,
        ])
        #expect(inventory["memory"]?["value"] == 32768)
        #expect(inventory["memory"]?["count"] == 4)
        #expect(inventory["memory"]?["model"] == "18ASF1G72PDZ-2G6B1")
        #expect(inventory["memory"]?["valueType"] == "mb")
        #expect(inventory["bios"] == ["model": "American Megatrends Inc.", "value": "2.0a", "serial": "12/06/2017", "valueType": "text"])
        #expect(inventory["system"]?["model"] == "SYS-6019P-WT")
        #expect(inventory["system"]?["serial"] == "", "the capture's censored serial is not taken for a value")
        guard case .array(let components)? = inventory["components"] else {
            Issue.record("no components")
            return
        }
        #expect(components.filter { $0["componentname"] == "cpu" }.count == 2)
        #expect(components.filter { $0["componentname"] == "memory" }.count == 4)
        #expect(components.contains { $0["componentname"] == "bios" && $0["serial"] == "12/06/2017" && $0["inventorycomponent_id"] == 4 })
        // The seed's cpu custom fields per socket: Cores 2, MHz Turbo 3, MHz Normal 4, Threads 5.
        #expect(components.first { $0["componentname"] == "cpu" }?["customfields"] == [
            ["fieldId": 2, "value": "20"], ["fieldId": 3, "value": "4000"], ["fieldId": 4, "value": "2400"], ["fieldId": 5, "value": "40"],
        ])
    }

    @Test func disksControllersAndFallbacksFromThisMachine() throws {
        let inventory = try HardwareInventory.normalize(CapturedHardware.report(dmi: false))
        #expect(inventory["disk"]?["count"] == 2, "zram and the removable DVD drive are not disks")
        #expect(inventory["disk"]?["value"] == .integer(262_144 + 953_869))
        #expect(inventory["disk"]?["model"] == "multiple")
        guard case .array(let disks)? = inventory["disk"]?["details"] else {
            Issue.record("no disk details")
            return
        }
        #expect(disks.map { $0["type"] } == ["HDD", "NVMe"])
        #expect(disks.last?["model"] == "Samsung SSD 980 PRO 1TB")
        #expect(inventory["cpu"] == ["model": "AMD EPYC", "value": "2445", "count": 1, "valueType": "MHz", "cores": "2", "threads": "2"])
        #expect(inventory["memory"]?["value"] == 24105)
        #expect(inventory["mainboard"]?["count"] == 0)
        #expect(inventory["facts"] == ["disks": 2, "hardwareRaid": true])
        guard case .array(let components)? = inventory["components"] else {
            Issue.record("no components")
            return
        }
        // Disk Type is the seed's dropdown (1 HDD, 2 SSD, 3 NVMe) on the Disk root component (7).
        #expect(components.filter { $0["componentname"] == "disk" }.map { $0["customfields"] } == [
            [["fieldId": 1, "value": "1"]], [["fieldId": 1, "value": "3"]],
        ])
        #expect(components.filter { $0["componentname"] == "disk" }.allSatisfy { $0["inventorycomponent_id"] == 7 })
        #expect(inventory["disk"]?["valueType"] == "mib")
        guard case .array(let raid)? = inventory["raid_controller"], case .array(let storage)? = inventory["storage_controller"] else {
            Issue.record("no controllers")
            return
        }
        #expect(raid.first?["model"] == "SiI 3114 [SATALink/SATARaid] Serial ATA Controller")
        #expect(raid.first?["vendor"] == "Silicon Image, Inc.")
        #expect(storage.first?["model"] == "Virtio 1.0 block device")
        #expect(inventory["softwareRaid"] == [["name": "md0", "state": "active", "level": "raid1", "members": ["sdb1", "sda1"]]])
        #expect(inventory["hostname"] == "vm")
    }

    /// The seed's own server inventory (detailedHardwareInformation of server 61 and an inventory item), field by field:
    /// every field the seed shows exists in the agent's answer with the same JSON type and unit.
    @Test func fieldByFieldAgainstTheSeedsExample() throws {
        let seed: JSONValue = [
            "mainboard": ["model": "MAG X570 TOMAHAWK WIFI (MS-7C84)", "value": "1.0", "count": 1, "valueType": "text",
                          "details": [["model": "MAG X570 TOMAHAWK WIFI (MS-7C84)", "size": "1.0"]]],
            "memory": ["model": "multiple", "value": 65536, "count": 4, "valueType": "mb", "details": [["model": "CMH32GX4M2Z3200C16", "size": "16384"]]],
            "cpu": ["model": "AMD Ryzen 9 3900XT", "value": "2200", "count": 1, "valueType": "MHz", "cores": "12", "threads": "24", "mhzTurbo": 4775],
            "disk": ["model": "multiple", "value": 2842540, "count": 4, "valueType": "mib", "details": [["model": "Samsung SSD 860 EVO 500GB", "size": "476940"]]],
        ]
        let seedItem: JSONValue = ["model": "Samsung SSD 860 EVO", "value": "476940", "serial": "S1Z2NB1K736669A", "inventorycomponent_id": 7,
                                   "description": "Second SSD", "customfields": .null]
        let inventory = try HardwareInventory.normalize(CapturedHardware.report(dmi: true))
        func kind(_ value: JSONValue?) -> String {
            switch value {
            case .string?: "string"
            case .integer?, .double?: "number"
            case .array?: "array"
            case .object?: "object"
            case .bool?: "bool"
            case .null?: "null"
            case nil: "missing"
            }
        }
        guard case .object(let components) = seed else { return }
        for (name, example) in components {
            guard case .object(let fields) = example else { continue }
            for (field, value) in fields {
                #expect(kind(inventory[name]?[field]) == kind(value), "\(name).\(field): the seed has \(kind(value))")
                if field == "valueType" { #expect(inventory[name]?[field] == value, "\(name).valueType") }
                if field == "details", case .array(let seedDetails) = value, case .object(let seedDetail)? = seedDetails.first,
                    case .array(let ours)? = inventory[name]?[field]
                {
                    for key in seedDetail.keys {
                        #expect(kind(ours.first?[key]) == "string", "\(name).details.\(key)")
                    }
                }
            }
        }
        guard case .array(let items)? = inventory["components"], let disk = items.first(where: { $0["componentname"] == "disk" }) else {
            Issue.record("no disk item")
            return
        }
        guard case .object(let itemFields) = seedItem else { return }
        for (field, value) in itemFields where field != "customfields" {
            #expect(kind(disk[field]) == kind(value), "inventory item \(field)")
        }
        #expect(kind(disk["customfields"]) == "array" || kind(disk["customfields"]) == "null")
    }

    @Test func reportsThatAreNotOursAreRefused() {
        #expect(throws: AgentError.self) { try HardwareInventory.normalize(["format": "something-else"]) }
        #expect(throws: AgentError.self) { try HardwareInventory.normalize("text") }
        #expect(throws: AgentError.self) { try HardwareInventory.normalize(["format": "rackagent-hwdetect-1", "lsblk": "broken"]) }
    }
}
