import AgentCore
import IPMI
import Testing

/// Parsers against ipmitool 1.8.19 output captured from ipmi_sim, and from Supermicro X11 BMCs where the
/// simulator has nothing to show (sensors, SEL entries, FRU data).
@Suite struct IPMIOutputParserTests {
    /// `ipmitool channel getaccess 1 3` captured from ipmi_sim (after a setaccess it ignored), and a callback-only,
    /// disabled-messaging user as ipmitool prints it.
    @Test func channelAccessReadBack() {
        let captured = """
            Maximum User IDs     : 63
            Enabled User IDs     : 3

            User ID              : 3
            User Name            : libero
            Fixed Name           : No
            Access Available     : call-in / callback
            Link Authentication  : enabled
            IPMI Messaging       : enabled
            Privilege Level      : OPERATOR
            Enable Status        : unknown
            """
        #expect(IPMIOutputParser.channelAccess(captured) == ["callin": "on", "link": "on", "ipmi": "on", "privilege": "3"])
        let restricted = captured.replacingOccurrences(of: "call-in / callback", with: "callback only")
            .replacingOccurrences(of: "IPMI Messaging       : enabled", with: "IPMI Messaging       : disabled")
            .replacingOccurrences(of: "OPERATOR", with: "ADMINISTRATOR")
        #expect(IPMIOutputParser.channelAccess(restricted) == ["callin": "off", "link": "on", "ipmi": "off", "privilege": "4"])
    }

    @Test func powerStatus() {
        #expect(IPMIOutputParser.chassisPower("Chassis Power is on\n") == .on)
        #expect(IPMIOutputParser.chassisPower("Chassis Power is off\n") == .off)
        #expect(IPMIOutputParser.chassisPower("System Power         : on\nPower Overload       : false\n") == .on)
        #expect(IPMIOutputParser.chassisPower("garbage") == nil)
    }

    @Test func bootParameterFive() throws {
        let captured = """
            Boot parameter version: 1
            Boot parameter 5 is valid/unlocked
            Boot parameter data: 0004000000
             Boot Flags :
               - Boot Flag Invalid
               - Options apply to only next boot
               - BIOS PC Compatible (legacy) boot 
               - Boot Device Selector : Force PXE
               - BIOS verbosity : System Default
               - Console Redirection control : Console redirection occurs per BIOS configuration setting (default)
               - BIOS Mux Control Override : BIOS uses recommended setting of the mux at the end of POST
            """
        let flags = try #require(IPMIOutputParser.bootFlags(captured))
        #expect(flags.device == .pxe)
        #expect(!flags.efi)
        #expect(!flags.persistent)
        #expect(!flags.valid)
        let efiPersistent = """
            Boot parameter version: 1
            Boot parameter 5 is valid/unlocked
            Boot parameter data: e008000000
             Boot Flags :
               - Boot Flag Valid
               - Options apply to all future boots
               - BIOS EFI boot 
               - Boot Device Selector : Force Boot from default Hard-Drive
            """
        let disk = try #require(IPMIOutputParser.bootFlags(efiPersistent))
        #expect(disk.device == .disk)
        #expect(disk.efi && disk.persistent && disk.valid)
        #expect(IPMIOutputParser.bootFlags("Boot parameter 5 is valid/unlocked\n - Boot Device Selector : No override\n")?.device == nil)
    }

    @Test func userList() {
        let captured = """
            ID  Name\t     Callin  Link Auth\tIPMI Msg   Channel Priv Limit
            1                    true    false      true       USER
            2   admin            true    false      true       ADMINISTRATOR
            3   tos_61_8         false   false      true       OPERATOR
            4   sixteencharsname true    true       false      NO ACCESS
            5                    true    false      false      Unknown (0x00)
            """
        let users = IPMIOutputParser.users(captured)
        #expect(users.count == 5)
        #expect(users[1] == BMCUser(id: 2, name: "admin", callin: true, linkAuth: false, ipmiMsg: true, privilegeName: "ADMINISTRATOR", privilegeId: 4))
        #expect(users[2] == BMCUser(id: 3, name: "tos_61_8", callin: false, linkAuth: false, ipmiMsg: true, privilegeName: "OPERATOR", privilegeId: 3))
        #expect(users[3].name == "sixteencharsname")
        #expect(users[3].privilegeId == 15)
        #expect(users[0].name == "")
        #expect(users[4].privilegeId == 0)
    }

    @Test func sensors() {
        let captured = """
            CPU Temp         | 01h | ok  |  3.1 | 36 degrees C
            System Temp      | 0Bh | ok  |  7.1 | 28 degrees C
            FAN1             | 41h | ok  | 29.1 | 3500 RPM
            FAN2             | 42h | ns  | 29.2 | No Reading
            12V              | 30h | ok  |  7.17 | 12.06 Volts
            PS1 Status       | C8h | ok  | 10.1 | Presence detected
            """
        let sensors = IPMIOutputParser.sensors(captured)
        #expect(sensors.count == 6)
        #expect(sensors[0] == SensorReading(name: "CPU Temp", id: "01h", status: "ok", entity: "3.1", value: 36, unit: "degrees C", reading: "36 degrees C"))
        #expect(sensors[3].value == nil)
        #expect(sensors[3].status == "ns")
        #expect(sensors[4].value == 12.06)
        #expect(sensors[5].unit == nil)
        #expect(sensors[5].reading == "Presence detected")
    }

    @Test func selEntries() {
        let captured = """
               1 | 10/03/2022 | 08:13:15 | Power Supply PS2 Status | Failure detected () | Asserted
               2 | 10/03/2022 | 08:14:02 | Power Supply PS2 Status | Failure detected () | Deasserted
              3a | 11/21/2026 | 22:01:40 | Temperature CPU1 Temp | Upper Critical going high | Asserted
            """
        let entries = IPMIOutputParser.selEntries(captured)
        #expect(entries.count == 3)
        #expect(entries[0] == SELEntry(id: "1", date: "10/03/2022", time: "08:13:15", sensor: "Power Supply PS2 Status", event: "Failure detected ()", direction: "Asserted"))
        #expect(entries[2].id == "3a")
        #expect(IPMIOutputParser.selEntries("SEL has no entries\n").isEmpty)
    }

    @Test func fru() {
        let captured = """
            FRU Device Description : Builtin FRU Device (ID 0)
             Chassis Type          : Other
             Chassis Serial        : C8190LK38NA0178
             Board Mfg Date        : Mon Jan  1 00:00:00 1996
             Board Mfg             : Supermicro
             Board Product         : X11DPU
             Product Name          : SYS-1029U-TRTP

            FRU Device Description : PS1 (ID 1)
             Product Manufacturer  : SUPERMICRO
            """
        let devices = IPMIOutputParser.fruDevices(captured)
        #expect(devices.count == 2)
        #expect(devices[0].description == "Builtin FRU Device (ID 0)")
        #expect(devices[0].fields.first { $0.key == "Board Mfg Date" }?.value == "Mon Jan  1 00:00:00 1996")
        #expect(devices[0].fields.count == 6)
        #expect(devices[1].fields == [KeyValue(key: "Product Manufacturer", value: "SUPERMICRO")])
    }

    @Test func lanPrintContinuationLines() {
        let captured = """
            Set in Progress         : Set Complete
            Auth Type Support       : NONE MD2 MD5 PASSWORD 
            Auth Type Enable        : Callback : NONE MD2 MD5 PASSWORD 
                                    : User     : NONE MD2 MD5 PASSWORD 
            IP Address Source       : Unspecified
            IP Address              : 0.0.0.0
            MAC Address             : 00:00:00:00:00:00
            802.1q VLAN ID          : Disabled
            """
        let pairs = IPMIOutputParser.keyValues(captured)
        #expect(pairs.first { $0.key == "IP Address" }?.value == "0.0.0.0")
        #expect(pairs.first { $0.key == "MAC Address" }?.value == "00:00:00:00:00:00")
        #expect(pairs.first { $0.key == "Auth Type Enable" }?.value == "Callback : NONE MD2 MD5 PASSWORD\nUser     : NONE MD2 MD5 PASSWORD")
    }
}
