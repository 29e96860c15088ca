import AgentCore
import Foundation
import Hummingbird
import SNMP

/// Network devices the controller registers, their ports, statistics and actions.
struct NetworkDeviceRoutes {
    let runtime: AgentRuntime

    /// The seed's networkDeviceAction names plus the agent's read-only getInterface and getVlans.
    enum Action: String, CaseIterable {
        case clearCache, getFeatures, getStatistics, setPortEnabled, setPortDisabled, setInterfaceDescription
        case deleteVlanFromInterface, updateInterface, updateVlan, createVlan, getActionLogs, getInterface, getVlans
    }

    struct TestRequest: Decodable {
        let useCache: Bool
        enum CodingKeys: String, CodingKey { case useCache }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // The seed's opt-in: the cached status only when asked for.
            useCache = try container.decodeTolerantBoolIfPresent(forKey: .useCache) ?? false
        }
    }

    struct PortRequest: Decodable {
        let portId: String
        enum CodingKeys: String, CodingKey { case portId }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            portId = try container.decodeTolerantString(forKey: .portId)
            guard !portId.isEmpty, portId.count <= 64 else { throw container.invalid(.portId, "must be 1 to 64 characters") }
            try Validation.noControlCharacters(portId, field: "portId")
        }
    }

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        let devices = runtime.networkDevices
        router.put("/v1/network-devices/{id}") { request, context in
            let id = try Self.deviceId(context)
            var document = try (try await RequestPayload.read(request, limit: limit)).decode(JSONValue.self)
            guard case .object(var members) = document else { throw AgentError.malformedJSON("expected an object") }
            members["id"] = .string(id)
            // What the agent detected is the agent's to say, never taken from a registration; each registration detects it anew.
            members["detectedSnmpVersion"] = nil
            document = .object(members)
            let device = try document.decode(as: NetworkDevice.self, at: "")
            let (stored, created) = try await devices.store.put(device)
            try await runtime.actionLog.append(
                ActionLogEntry(rootType: stored.deviceType, rootId: id, description: created ? "Network device registered" : "Network device updated",
                               meta: ["text": .string(stored.name)]))
            if stored.snmpVersion == nil, NetworkDevice.snmpDeviceTypes.contains(stored.deviceType) {
                // The seed's "detected automatically": v2c, then v1, in the background (a device that is down must not
                // hold the registration); the connectivity test tries again while nothing answered.
                let logger = runtime.logger
                Task {
                    do {
                        try await devices.detectVersion(id)
                    } catch {
                        logger.warning("SNMP version detection failed", metadata: ["device": "\(id)", "error": "\(AgentError.from(error).message)"])
                    }
                }
            }
            return Envelope.success(.object(stored.apiRepresentation), status: created ? .created : .ok)
        }
        router.get("/v1/network-devices/{id}") { _, context in
            let stored = try await devices.stored(try Self.deviceId(context))
            return Envelope.success(.object(try Self.representation(stored, assignments: try await devices.assignments.current(deviceId: stored.device.id))))
        }
        router.get("/v1/network-devices") { _, _ in
            var listed: [JSONValue] = []
            for stored in try await devices.store.all() {
                listed.append(.object(try Self.representation(stored, assignments: try await devices.assignments.current(deviceId: stored.device.id))))
            }
            return Envelope.success(.array(listed))
        }
        router.delete("/v1/network-devices/{id}") { _, context in
            let id = try Self.deviceId(context)
            guard try await devices.store.delete(id) else { throw AgentError.notFound("network device", id) }
            runtime.switches.pool.close(deviceId: id)
            try await runtime.switches.store.forgetHostKey(id)
            try await runtime.actionLog.append(ActionLogEntry(rootType: "networkDevice", rootId: id, description: "Network device removed"))
            return Envelope.success(.null)
        }
        router.post("/v1/network-devices/{id}/test") { request, context in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(TestRequest.self)
            return Envelope.success(try await devices.testConnectivity(try Self.deviceId(context), useCache: body.useCache))
        }
        router.get("/v1/network-devices/{id}/ports") { request, context in
            let id = try Self.deviceId(context)
            let ports = try await devices.ports(id, refresh: request.stringQuery("refresh") == "1")
            let stored = try await devices.stored(id)
            return Envelope.success([
                "ports": try Self.withAssignments(ports, try await devices.assignments.current(deviceId: id)),
                "advancedManagementAvailable": .integer(stored.device.enableAdvancedManagement ? 1 : 0),
            ])
        }
        router.put("/v1/network-devices/{id}/ports/{portId}/assignments") { request, context in
            let id = try Self.deviceId(context)
            let stored = try await devices.stored(id)
            let portId = try await Self.portNumber(try context.pathParameter("portId"), stored: stored, devices: devices)
            let document = try (try await RequestPayload.read(request, limit: limit)).decode(JSONValue.self)
            // The seed's list itself, or an object holding it as `assignments`.
            let list: JSONValue
            switch document {
            case .array: list = document
            case .object(let members): list = members["assignments"] ?? .null
            default: list = .null
            }
            guard case .array = list else { throw AgentError.invalidField("assignments", "expected the port's assignment list, e.g. [{\"type\": \"server\", \"relId\": 61, \"connectionId\": 26}]") }
            let assignments = try list.decode(as: [PortAssignment].self, at: "assignments")
            let saved = try await devices.assignments.set(deviceId: id, portId: portId, assignments)
            try await runtime.actionLog.append(
                ActionLogEntry(rootType: stored.device.deviceType, rootId: id, description: "Port assignments set",
                               meta: ["portId": .integer(Int64(portId)), "assignments": try JSONValue(encoding: saved)],
                               relationType: saved.count == 1 ? (saved[0].type == "server" ? "servers" : saved[0].type) : nil,
                               relationId: saved.count == 1 ? String(saved[0].relId) : nil))
            return Envelope.success(["id": .integer(Int64(portId)), "assignments": try JSONValue(encoding: saved)])
        }
        router.get("/v1/servers/{serverId}/traffic") { _, context in
            let text = try context.pathParameter("serverId")
            guard let serverId = Int64(text), serverId > 0 else { throw AgentError.invalidField("serverId", "must be a positive integer") }
            return Envelope.success(try await devices.serverTraffic(serverId).apiRepresentation)
        }
        router.post("/v1/network-devices/{id}/actions/{networkDeviceAction}") { request, context in
            let id = try Self.deviceId(context)
            let name = try context.pathParameter("networkDeviceAction")
            guard let action = Action(rawValue: name) else {
                throw AgentError.invalidField("networkDeviceAction", "unknown action \(name) (one of \(Action.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let payload = try await RequestPayload.read(request, limit: limit)
            return try await perform(action, deviceId: id, request: request, payload: payload)
        }
    }

    private func perform(_ action: Action, deviceId: String, request: Request, payload: RequestPayload) async throws -> Response {
        let devices = runtime.networkDevices
        let stored = try await devices.stored(deviceId)
        let device = stored.device
        switch action {
        case .clearCache:
            try await devices.store.clearCaches(deviceId)
            return Envelope.success("cache cleared")
        case .getFeatures:
            return Envelope.success(features(stored))
        case .getStatistics:
            let body = try payload.decode(StatisticsRequest.self)
            return Envelope.success(try await statistics(stored, body))
        case .getActionLogs:
            let rows = try await runtime.actionLog.recent(limit: 200, rootType: nil, rootId: deviceId)
            return try Envelope.success(encoding: rows.map(ActionLogEntry.maskedForReading).map(ActionLogRow.init))
        case .setPortEnabled, .setPortDisabled:
            if device.enableAdvancedManagement {
                return try await SwitchActions(runtime: runtime).perform(action, stored: stored, request: request, payload: payload)
            }
            let body = try payload.decode(PortRequest.self)
            let enable = action == .setPortEnabled
            guard NetworkDevice.snmpDeviceTypes.contains(device.deviceType) else {
                throw AgentError.unsupported("\(action.rawValue) needs an SNMP device")
            }
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "switch.\(action.rawValue)", target: "network-device:\(deviceId)",
                description: "Executed \(action.rawValue) on port \(body.portId)", rootType: device.deviceType, rootId: deviceId
            ) { _ in try await devices.setPortAdminStatus(deviceId, portId: body.portId, enabled: enable) }
        case .setInterfaceDescription, .deleteVlanFromInterface, .updateInterface, .updateVlan, .createVlan, .getInterface, .getVlans:
            guard device.enableAdvancedManagement else {
                throw AgentError.unsupported("\(action.rawValue) needs SSH advanced management (enableAdvancedManagement with managementVendor)")
            }
            return try await SwitchActions(runtime: runtime).perform(action, stored: stored, request: request, payload: payload)
        }
    }

    func features(_ stored: StoredNetworkDevice) -> JSONValue {
        let device = stored.device
        var actions: [String] = [Action.clearCache, .getFeatures, .getActionLogs].map(\.rawValue)
        if NetworkDevice.snmpDeviceTypes.contains(device.deviceType) {
            actions += [Action.getStatistics].map(\.rawValue)
        }
        if NetworkDevice.snmpDeviceTypes.contains(device.deviceType) || device.enableAdvancedManagement {
            actions += [Action.setPortEnabled, .setPortDisabled].map(\.rawValue)
        }
        if device.enableAdvancedManagement {
            actions += [Action.setInterfaceDescription, .updateInterface, .deleteVlanFromInterface, .createVlan, .updateVlan, .getInterface, .getVlans].map(\.rawValue)
        }
        return [
            "features": .array(device.features.map(JSONValue.string)), "actions": .array(actions.map(JSONValue.string)),
            "bandwidthCollection": .bool(device.collectsBandwidth), "counterWidth": stored.counterWidth.map { .integer(Int64($0.rawValue)) } ?? .null,
            "advancedManagement": .bool(device.enableAdvancedManagement), "managementVendor": device.managementVendor.map(JSONValue.string) ?? .null,
        ]
    }

    /// getStatistics: graph points (bits/s) or text volumes (bytes) per port, each with the seed's
    /// trafficStatistics summary and lastBwrate.
    func statistics(_ stored: StoredNetworkDevice, _ request: StatisticsRequest) async throws -> JSONValue {
        let devices = runtime.networkDevices
        let id = stored.device.id
        var known = stored.portsCache ?? []
        if known.isEmpty, !request.portIds.allSatisfy({ Int($0) != nil }) { known = try await devices.ports(id) }
        var portNumbers: [Int] = []
        for portId in request.portIds {
            if let number = Int(portId) {
                portNumbers.append(number)
            } else {
                portNumbers.append(try InterfacePort.resolve(portId, in: known, field: "portIds").id)
            }
        }
        let now = Date()
        let to = request.to ?? now
        let from = request.from ?? to.addingTimeInterval(-(request.predefinedSeconds ?? (request.mode == .graph ? 86_400 : 30 * 86_400)))
        let rollups = try await devices.bandwidth.rollups(deviceId: id, ports: portNumbers, from: from, to: to)
        // The 30 days trafficStatistics covers, read again only when the requested range does not hold them.
        let windowStart = now.addingTimeInterval(-30 * 86_400)
        let window =
            from <= windowStart && to >= now
            ? rollups.filter { $0.bucket >= Int64(windowStart.timeIntervalSince1970) && $0.bucket < Int64(now.timeIntervalSince1970) }
            : try await devices.bandwidth.rollups(deviceId: id, ports: portNumbers, from: windowStart, to: now)
        let last = try await devices.bandwidth.lastSamples(deviceId: id, ports: portNumbers).filter {
            now.timeIntervalSince($0.value.endedAt) <= BandwidthStore.freshSampleSeconds
        }
        let ports = Set(portNumbers.isEmpty ? rollups.map(\.ifIndex) + Array(last.keys) : portNumbers).sorted()
        let rows: [JSONValue] = ports.map { port in
            let own = rollups.filter { $0.ifIndex == port }
            var row: [String: JSONValue] = [
                "portId": .integer(Int64(port)), "name": .string(known.first { $0.id == port }?.name ?? ""),
                "trafficStatistics": BandwidthStatistics.trafficStatistics(window.filter { $0.ifIndex == port }, now: now),
                "lastBwrate": BandwidthStatistics.lastRate(last[port]),
            ]
            if request.mode == .graph {
                row["points"] = .array(BandwidthStatistics.graph(own, grouping: request.groupBy))
            } else {
                row["periods"] = .array(BandwidthStatistics.text(own, grouping: request.groupBy))
            }
            return .object(row)
        }
        return [
            "mode": .string(request.mode.rawValue), "groupBy": .string(request.groupBy.rawValue),
            "from": .string(BandwidthStatistics.timestamp(Int64(from.timeIntervalSince1970))),
            "to": .string(BandwidthStatistics.timestamp(Int64(to.timeIntervalSince1970))),
            "units": ["points": "bit/s", "periods": "bytes", "trafficStatistics": "GB (10^9 bytes, in+out); 95th in Mbit/s", "lastBwrate": "Mbit/s"],
            "ports": .array(rows),
        ]
    }

    /// A device as the seed lists it: `ports` with their assignments (from the cached port list, and any port that has
    /// assignments without being in it), `extendedDetails.ports` with every cached column and the assignments too.
    static func representation(_ stored: StoredNetworkDevice, assignments: [Int: [PortAssignment]]) throws -> [String: JSONValue] {
        var object = stored.device.apiRepresentation
        object["statusCache"] = stored.statusCache ?? .array([])
        let cached = stored.portsCache ?? []
        let extended = try withAssignments(cached, assignments)
        if stored.portsCache != nil {
            object["extendedDetails"] = ["ports": extended, "advancedManagementAvailable": .integer(stored.device.enableAdvancedManagement ? 1 : 0)]
        }
        var ports: [JSONValue] = []
        for port in cached {
            ports.append(["id": .integer(Int64(port.id)), "name": .string(port.name), "assignments": try JSONValue(encoding: assignments[port.id] ?? [])])
        }
        for (portId, list) in assignments.sorted(by: { $0.key < $1.key }) where !cached.contains(where: { $0.id == portId }) {
            ports.append(["id": .integer(Int64(portId)), "name": .null, "assignments": try JSONValue(encoding: list)])
        }
        if stored.portsCache != nil || !assignments.isEmpty { object["ports"] = .array(ports) }
        object["counterWidth"] = stored.counterWidth.map { .integer(Int64($0.rawValue)) } ?? .null
        object["reachable"] = stored.reachable.map(JSONValue.bool) ?? .null
        return object
    }

    /// Interface rows with each port's `assignments` (an empty list where it has none), as the seed's port lists show them.
    static func withAssignments(_ ports: [InterfacePort], _ assignments: [Int: [PortAssignment]]) throws -> JSONValue {
        guard case .array(let rows) = try JSONValue(encoding: ports) else { return .array([]) }
        return .array(try zip(ports, rows).map { port, row in
            guard case .object(var members) = row else { return row }
            members["assignments"] = try JSONValue(encoding: assignments[port.id] ?? [])
            return .object(members)
        })
    }

    /// A port named in a path: its ifIndex, or its name (looked up in the device's port list).
    static func portNumber(_ text: String, stored: StoredNetworkDevice, devices: NetworkDeviceService) async throws -> Int {
        guard !text.isEmpty, text.count <= 64 else { throw AgentError.invalidField("portId", "must be 1 to 64 characters") }
        try Validation.noControlCharacters(text, field: "portId")
        if let number = Int(text) {
            guard number > 0 else { throw AgentError.invalidField("portId", "must be a positive ifIndex or a port name") }
            // Checked against the ports the agent knows (a typo would bill nothing); a device never listed is taken at its word.
            if let known = stored.portsCache, !known.isEmpty, !known.contains(where: { $0.id == number }) {
                throw AgentError.invalidField("portId", "device \(stored.device.id) has no port with ifIndex \(number)")
            }
            return number
        }
        return try InterfacePort.resolve(text, in: try await devices.ports(stored.device.id), field: "portId").id
    }

    static func deviceId(_ context: AgentRequestContext) throws -> String {
        let id = try context.pathParameter("id")
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw AgentError.invalidField("id", "device ids are letters, digits, - and _ (at most 64)")
        }
        return id
    }
}
