import AgentCore
import Foundation
import Hummingbird
import SNMP
import SwitchSSH

/// The network-device actions that go over SSH (advanced management): bodies as in the seed's action catalogue,
/// validated field by field before anything reaches a CLI; changes run as jobs, reads and dry runs answer at once.
struct SwitchActions {
    let runtime: AgentRuntime

    /// The SSH target of a registered device with advanced management.
    static func target(_ device: NetworkDevice) throws -> SwitchTarget {
        guard device.enableAdvancedManagement, let vendor = device.managementVendor, let user = device.managementUser else {
            throw AgentError.unsupported("device \(device.id) has no SSH advanced management (enableAdvancedManagement, managementVendor, managementUser)")
        }
        let credential: SSHCredential
        if let key = device.meta["managementPrivateKey"]?.stringValue, !key.isEmpty {
            credential = .privateKey(Secret(key), passphrase: device.meta["managementPrivateKeyPassphrase"]?.stringValue.map(Secret.init))
        } else if let password = device.managementPassword {
            credential = .password(password)
        } else {
            throw AgentError.missingField("managementPassword")
        }
        return SwitchTarget(
            deviceId: device.id, host: device.snmpHost, port: device.managementPort ?? 22, user: user, credential: credential, vendor: vendor,
            pinnedHostKey: device.meta["hostKeySha256"]?.stringValue)
    }

    /// The body fields every SSH action understands (each action uses its own subset).
    struct Body: Decodable {
        var portId: String?
        var description: String?
        var portAdminStatus: String?
        var accessVlan: Int?
        var trunkNativeVlan: Int?
        var trunkVlans: [Int]?
        var vlanId: Int?
        var id: Int?
        var name: String?
        var l3Ips: [String]?
        var dryRun: Bool

        enum CodingKeys: String, CodingKey {
            case portId, description, portAdminStatus, accessVlan, trunkNativeVlan, trunkVlans, vlanId, id, name, l3Ips, dryRun
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            portId = try container.decodeTolerantStringIfPresent(forKey: .portId)?.trimmingCharacters(in: .whitespaces)
            description = try container.decodeTolerantStringIfPresent(forKey: .description)
            portAdminStatus = try container.decodeTolerantStringIfPresent(forKey: .portAdminStatus)
            accessVlan = try container.decodeTolerantIntIfPresent(forKey: .accessVlan)
            trunkNativeVlan = try container.decodeTolerantIntIfPresent(forKey: .trunkNativeVlan)
            vlanId = try container.decodeTolerantIntIfPresent(forKey: .vlanId)
            id = try container.decodeTolerantIntIfPresent(forKey: .id)
            name = try container.decodeTolerantStringIfPresent(forKey: .name)
            dryRun = try container.decodeTolerantBoolIfPresent(forKey: .dryRun) ?? false
            if container.contains(.trunkVlans), try !container.decodeNil(forKey: .trunkVlans) {
                var list = try container.nestedUnkeyedContainer(forKey: .trunkVlans)
                var vlans: [Int] = []
                while !list.isAtEnd {
                    if let number = try? list.decode(Int.self) {
                        vlans.append(number)
                    } else if let text = try? list.decode(String.self), let number = Int(text) {
                        vlans.append(number)
                    } else {
                        throw AgentError.invalidField("trunkVlans[\(vlans.count)]", "expected a VLAN id")
                    }
                }
                trunkVlans = vlans
            }
            if container.contains(.l3Ips), try !container.decodeNil(forKey: .l3Ips) {
                l3Ips = try container.decode([String].self, forKey: .l3Ips)
            }
        }
    }

    /// The interface name for `portId`: a name in the dialect's grammar, or an SNMP ifIndex of a known port.
    func portName(_ body: Body, stored: StoredNetworkDevice, dialect: any SwitchDialect) throws -> String {
        guard let portId = body.portId, !portId.isEmpty else { throw AgentError.missingField("portId") }
        if portId.allSatisfy(\.isNumber), let port = try? InterfacePort.resolve(portId, in: stored.portsCache ?? []) {
            try dialect.validateInterfaceName(port.name, field: "portId")
            return port.name
        }
        try dialect.validateInterfaceName(portId, field: "portId")
        return portId
    }

    /// updateInterface's fields as a change; `0` for a VLAN field means "not given", as in the seed's examples.
    static func interfaceChange(_ body: Body) throws -> InterfaceChange {
        var change = InterfaceChange()
        if let status = body.portAdminStatus?.lowercased() {
            switch status {
            case "enabled", "enable", "up", "1", "true": change.enabled = true
            case "disabled", "disable", "down", "0", "false": change.enabled = false
            default: throw AgentError.invalidField("portAdminStatus", "enabled or disabled")
            }
        }
        if let description = body.description { change.description = try SwitchValidation.description(description, field: "description") }
        if let vlan = body.accessVlan, vlan != 0 { change.accessVlan = try SwitchValidation.vlanId(vlan, field: "accessVlan") }
        if let vlan = body.trunkNativeVlan, vlan != 0 { change.nativeVlan = try SwitchValidation.vlanId(vlan, field: "trunkNativeVlan") }
        if let vlans = body.trunkVlans {
            change.trunkVlans = try vlans.enumerated().map { try SwitchValidation.vlanId($1, field: "trunkVlans[\($0)]") }
        }
        if change.accessVlan != nil, change.nativeVlan != nil || change.trunkVlans != nil {
            throw AgentError.invalidField("accessVlan", "an access VLAN and trunk VLANs exclude each other")
        }
        return change
    }

    static func vlanChange(_ body: Body, create: Bool) throws -> VLANChange {
        guard let id = body.id else { throw AgentError.missingField("id") }
        let vlan = try SwitchValidation.vlanId(id, field: "id")
        let name = try body.name.map { try SwitchValidation.vlanName($0, field: "name") }
        if create, name == nil { throw AgentError.missingField("name") }
        let addresses = try body.l3Ips.map { list in try list.enumerated().map { try SwitchValidation.cidr($1, field: "l3Ips[\($0)]") } }
        return VLANChange(id: vlan, name: name, l3Ips: addresses, create: create)
    }

    /// Runs an SSH action: validation first (a 400 sends nothing), then a read, a dry run, or a job.
    func perform(_ action: NetworkDeviceRoutes.Action, stored: StoredNetworkDevice, request: Request, payload: RequestPayload) async throws -> Response {
        let device = stored.device
        let target = try Self.target(device)
        let dialect = try SwitchService.dialect(target.vendor)
        let body = try payload.decode(Body.self)
        let service = runtime.switches
        switch action {
        case .getInterface:
            let name = try portName(body, stored: stored, dialect: dialect)
            return try Envelope.success(encoding: try await service.interface(target, name: name))
        case .getVlans:
            return try Envelope.success(encoding: try await service.vlans(target))
        case .setPortEnabled, .setPortDisabled, .setInterfaceDescription, .updateInterface, .deleteVlanFromInterface:
            let name = try portName(body, stored: stored, dialect: dialect)
            let change: InterfaceChange
            switch action {
            case .setPortEnabled: change = InterfaceChange(enabled: true)
            case .setPortDisabled: change = InterfaceChange(enabled: false)
            case .setInterfaceDescription:
                guard let description = body.description else { throw AgentError.missingField("description") }
                change = InterfaceChange(description: try SwitchValidation.description(description, field: "description"))
            case .deleteVlanFromInterface:
                guard let vlan = body.vlanId else { throw AgentError.missingField("vlanId") }
                change = InterfaceChange(removeVlan: try SwitchValidation.vlanId(vlan, field: "vlanId"))
            default:
                change = try Self.interfaceChange(body)
            }
            if body.dryRun {
                return try Envelope.success(encoding: try await service.changeInterface(target, name: name, change: change, dryRun: true, jobId: nil))
            }
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "switch.\(action.rawValue)", target: "network-device:\(device.id)",
                description: "Executed \(action.rawValue) on port \(name)", rootType: device.deviceType, rootId: device.id
            ) { context in
                try JSONValue(encoding: try await service.changeInterface(target, name: name, change: change, dryRun: false, jobId: context.jobId))
            }
        case .createVlan, .updateVlan:
            let change = try Self.vlanChange(body, create: action == .createVlan)
            if body.dryRun {
                return try Envelope.success(encoding: try await service.changeVLAN(target, change: change, dryRun: true, jobId: nil))
            }
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "switch.\(action.rawValue)", target: "network-device:\(device.id)",
                description: "Executed \(action.rawValue) for VLAN \(change.id)", rootType: device.deviceType, rootId: device.id
            ) { context in
                try JSONValue(encoding: try await service.changeVLAN(target, change: change, dryRun: false, jobId: context.jobId))
            }
        default:
            throw AgentError.unsupported("\(action.rawValue) does not go over SSH")
        }
    }

    /// Configuration snapshots and the recorded host key.
    static func register(on router: Router<AgentRequestContext>, runtime: AgentRuntime) {
        let switches = runtime.switches
        router.get("/v1/network-devices/{id}/config-snapshots") { _, context in
            let id = try NetworkDeviceRoutes.deviceId(context)
            _ = try await runtime.networkDevices.stored(id)
            return Envelope.success(.array(try await switches.store.snapshots(deviceId: id)))
        }
        router.get("/v1/network-devices/{id}/config-snapshots/{snapshotId}") { _, context in
            let id = try NetworkDeviceRoutes.deviceId(context)
            guard let snapshotId = Int64(try context.pathParameter("snapshotId")) else { throw AgentError.invalidField("snapshotId", "expected an integer") }
            let device = try await runtime.networkDevices.stored(id)
            // Masked again as it is read: a snapshot stored before a masking rule existed, or holding the device's
            // current credentials, never leaves the agent unmasked.
            guard let snapshot = try await switches.store.snapshot(deviceId: id, id: snapshotId, redactor: SwitchTextRedactor(secrets: device.device.secrets)) else {
                throw AgentError.notFound("configuration snapshot", "\(id)/\(snapshotId)")
            }
            return Envelope.success(snapshot)
        }
        router.get("/v1/network-devices/{id}/host-key") { _, context in
            let id = try NetworkDeviceRoutes.deviceId(context)
            guard let key = try await switches.store.hostKey(id) else { throw AgentError.notFound("recorded host key for", id) }
            return Envelope.success(["fingerprint": .string(key.fingerprint), "endpoint": .string(key.endpoint), "firstSeenAt": .string(UTCTime.iso8601(key.firstSeenAt))])
        }
        router.delete("/v1/network-devices/{id}/host-key") { _, context in
            let id = try NetworkDeviceRoutes.deviceId(context)
            guard try await switches.store.forgetHostKey(id) else { throw AgentError.notFound("recorded host key for", id) }
            switches.pool.close(deviceId: id)
            try await runtime.actionLog.append(ActionLogEntry(rootType: "networkDevice", rootId: id, description: "SSH host key forgotten; the next connection records a new one"))
            return Envelope.success(["forgotten": true])
        }
    }
}

extension ActionLogEntry {
    /// The entry with configuration secrets in its text masked again (switch transcripts stored by an older agent).
    static func maskedForReading(_ entry: ActionLogEntry) -> ActionLogEntry {
        var copy = entry
        copy.meta = ConfigurationSecrets.mask(json: entry.meta)
        copy.description = ConfigurationSecrets.mask(entry.description)
        return copy
    }
}
