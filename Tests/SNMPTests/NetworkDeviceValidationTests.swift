import AgentCore
import Foundation
import SNMP
import Testing

@Suite struct NetworkDeviceValidationTests {
    func decode(_ json: String) throws -> NetworkDevice {
        try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)).decode(as: NetworkDevice.self, at: "")
    }

    @Test func seedExampleDecodes() throws {
        let device = try decode("""
            {"id": 1, "name": "EX3200", "host": "192.168.188.223", "deviceType": "snmp_switch", "snmpCommunity": "Aks8gkjsa8a2", "snmpVersion": "2c",
             "agentId": 1, "features": ["bw_collection"], "meta": {"cachePorts": true, "flip_in_out": "true"}, "username": "", "password": "", "port": null,
             "statusCache": [], "snmpAuthAlgo": null, "snmpAuthLevel": null, "snmpCryptoAlgo": null, "snmpCryptoPassword": "",
             "enableAdvancedManagement": 1, "managementVendor": "juniperSsh", "managementPort": "22", "managementUser": "root", "managementPassword": "secret"}
            """)
        #expect(device.id == "1")
        #expect(device.snmpHost == "192.168.188.223" && device.snmpPort == 161)
        #expect(device.collectsBandwidth && device.cachesPorts && device.flipsInOut)
        #expect(device.enableAdvancedManagement && device.managementPort == 22)
        let api = device.apiRepresentation
        #expect(api["snmpCommunity"] == .string(Secret.mask))
        #expect(api["managementPassword"] == .string(Secret.mask))
        #expect(!JSONValue.object(api).jsonText.contains("Aks8gkjsa8a2"))
        #expect(device.storageRepresentation["snmpCommunity"] == "Aks8gkjsa8a2")
    }

    /// The seed's example turned to SNMPv3 with only the seed's own fields: the 400 names the field to add and says why.
    @Test func seedShapedV3NamesTheMissingUserField() throws {
        do {
            _ = try decode("""
                {"id": 1, "name": "EX3200", "host": "192.168.188.223", "deviceType": "snmp_switch", "snmpCommunity": "", "snmpVersion": "3",
                 "agentId": 1, "features": ["bw_collection"], "meta": {"cachePorts": true}, "username": "", "password": "", "port": null,
                 "statusCache": [], "snmpAuthAlgo": "SHA", "snmpAuthLevel": "authPriv", "snmpCryptoAlgo": "AES", "snmpCryptoPassword": "crypto-pass-1"}
                """)
            Issue.record("a v3 device without a user name was accepted")
        } catch {
            let failure = AgentError.from(error)
            #expect(failure.status == .badRequest && failure.details["field"] == "snmpUsername", "\(failure)")
            #expect(failure.message.contains("no user-name field") && failure.message.contains("snmpAuthPassword"), "\(failure.message)")
        }
        let added = try decode("""
            {"id": 1, "name": "EX3200", "host": "192.168.188.223", "deviceType": "snmp_switch", "snmpVersion": "3", "snmpUsername": "monitor",
             "snmpAuthPassword": "auth-pass-1", "snmpAuthAlgo": "SHA", "snmpAuthLevel": "authPriv", "snmpCryptoAlgo": "AES", "snmpCryptoPassword": "crypto-pass-1"}
            """)
        #expect(added.snmpUsername == "monitor")
    }

    /// Which SNMP failures allow a fallback to act: only those that show the device did not apply the SET.
    @Test func errorStatusesSayWhetherTheDeviceMayHaveActed() {
        #expect(SNMPError.deviceError(host: "pdu", status: "notWritable", oid: nil).deviceEffect == .untouched)
        #expect(SNMPError.deviceError(host: "pdu", status: "wrongValue", oid: nil).deviceEffect == .untouched)
        for status in ["commitFailed", "undoFailed", "genErr"] {
            #expect(SNMPError.deviceError(host: "pdu", status: status, oid: nil).deviceEffect == .unknown, "\(status)")
        }
        #expect(SNMPError.timeout(host: "pdu").deviceEffect == .unknown)
    }

    @Test func hostForms() throws {
        for (host, expectedHost, expectedPort) in [
            ("switch01.domain.com", "switch01.domain.com", 161), ("10.0.0.1:1161", "10.0.0.1", 1161), ("2001:db8::1", "2001:db8::1", 161),
            ("[2001:db8::1]:1161", "2001:db8::1", 1161),
        ] {
            let device = try decode(#"{"deviceType": "snmp_switch", "name": "x", "host": "\#(host)", "snmpVersion": "2c", "snmpCommunity": "c"}"#)
            #expect(device.snmpHost == expectedHost && device.snmpPort == expectedPort, "\(host)")
        }
    }

    @Test func badInputNamesTheField() {
        let cases: [(String, String)] = [
            (#"{"deviceType": "snmp_router", "name": "x", "host": "h", "snmpVersion": "2c", "snmpCommunity": "c"}"#, "deviceType"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "2c", "snmpCommunity": "pub\nlic"}"#, "snmpCommunity"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "2c"}"#, "snmpCommunity"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpCommunity": "c"}"#, "snmpVersion"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "4", "snmpCommunity": "c"}"#, "snmpVersion"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h;reboot", "snmpVersion": "2c", "snmpCommunity": "c"}"#, "host"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h:99999", "snmpVersion": "2c", "snmpCommunity": "c"}"#, "host"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "3"}"#, "snmpUsername"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "3", "snmpUsername": "u"}"#, "snmpAuthLevel"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "3", "snmpUsername": "u", "snmpAuthLevel": "authPriv"}"#, "snmpAuthAlgo"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "3", "snmpUsername": "u", "snmpAuthLevel": "authPriv", "snmpAuthAlgo": "SHA", "snmpAuthPassword": "short"}"#, "snmpAuthPassword"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "3", "snmpUsername": "u", "snmpAuthLevel": "authPriv", "snmpAuthAlgo": "SHA", "snmpAuthPassword": "longenough", "snmpCryptoAlgo": "3DES"}"#, "snmpCryptoAlgo"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "2c", "snmpCommunity": "c", "enableAdvancedManagement": true, "managementVendor": "hpSsh"}"#, "managementVendor"),
            (#"{"deviceType": "snmp_switch", "name": "", "host": "h", "snmpVersion": "2c", "snmpCommunity": "c"}"#, "name"),
            (#"{"deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "2c", "snmpCommunity": "c", "meta": 5}"#, "meta"),
        ]
        for (json, field) in cases {
            do {
                _ = try decode(json)
                Issue.record("accepted \(json)")
            } catch let error as AgentError {
                #expect(error.status == .badRequest)
                #expect(error.details["field"] == .string(field), "\(json): \(error)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func maskedSecretsNeedAStoredDevice() throws {
        let stored = try decode(#"{"id": "5", "deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "2c", "snmpCommunity": "real"}"#)
        let resubmitted = try decode(#"{"id": "5", "deviceType": "snmp_switch", "name": "y", "host": "h", "snmpVersion": "2c", "snmpCommunity": "**************"}"#)
        #expect(try resubmitted.resolvingMaskedSecrets(from: stored).snmpCommunity?.revealed == "real")
        #expect(throws: AgentError.self) { _ = try resubmitted.resolvingMaskedSecrets(from: nil) }
    }

    @Test func v3AlgorithmSpellings() {
        #expect(SNMPTarget.AuthenticationAlgorithm(lenient: "sha1") == .sha)
        #expect(SNMPTarget.AuthenticationAlgorithm(lenient: "HMAC-SHA-256") == .sha256)
        #expect(SNMPTarget.PrivacyAlgorithm(lenient: "aes128") == .aes128)
        #expect(SNMPTarget.PrivacyAlgorithm(lenient: "AES-256") == .aes256)
        #expect(SNMPTarget.PrivacyAlgorithm(lenient: "3DES") == nil)
    }

    @Test func portsFromColumnsAndResolution() throws {
        let columns: [OID: [VariableBinding]] = [
            InterfaceMIB.ifDescr: [VariableBinding(oid: InterfaceMIB.ifDescr.appending(1), value: .octets(Array("GigabitEthernet1/0/1".utf8))),
                                   VariableBinding(oid: InterfaceMIB.ifDescr.appending(2), value: .octets(Array("GigabitEthernet1/0/2".utf8)))],
            InterfaceMIB.ifName: [VariableBinding(oid: InterfaceMIB.ifName.appending(1), value: .octets(Array("Gi1/0/1".utf8))),
                                  VariableBinding(oid: InterfaceMIB.ifName.appending(2), value: .octets([]))],
            InterfaceMIB.ifHighSpeed: [VariableBinding(oid: InterfaceMIB.ifHighSpeed.appending(1), value: .gauge32(10_000))],
            InterfaceMIB.ifSpeed: [VariableBinding(oid: InterfaceMIB.ifSpeed.appending(2), value: .gauge32(100_000_000))],
            InterfaceMIB.ifOperStatus: [VariableBinding(oid: InterfaceMIB.ifOperStatus.appending(1), value: .integer(1))],
        ]
        let ports = InterfacePort.ports(from: columns)
        #expect(ports.map(\.id) == [1, 2])
        #expect(ports[0].name == "Gi1/0/1" && ports[0].linkSpeed == "10000" && ports[0].portOperStatus == "1")
        #expect(ports[1].name == "GigabitEthernet1/0/2" && ports[1].linkSpeed == "100")
        #expect(try InterfacePort.resolve("2", in: ports).id == 2)
        #expect(try InterfacePort.resolve("Gi1/0/1", in: ports).id == 1)
        #expect(try InterfacePort.resolve("GigabitEthernet1/0/2", in: ports).id == 2)
        #expect(throws: AgentError.self) { _ = try InterfacePort.resolve("Te1/1", in: ports) }
    }
}
