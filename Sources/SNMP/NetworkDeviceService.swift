import AgentCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix

/// SNMP work on registered devices: connectivity test, port discovery, counter polls, port admin status.
public struct NetworkDeviceService: Sendable {
    public let client: SNMPClient
    public let store: NetworkDeviceStore
    public let bandwidth: BandwidthStore
    let settings: SNMPConfiguration
    let logger: Logger

    public init(client: SNMPClient, store: NetworkDeviceStore, bandwidth: BandwidthStore, settings: SNMPConfiguration, logger: Logger) {
        self.client = client
        self.store = store
        self.bandwidth = bandwidth
        self.settings = settings
        self.logger = logger
    }

    public func stored(_ id: String) async throws -> StoredNetworkDevice {
        guard let stored = try await store.get(id) else { throw AgentError.notFound("network device", id) }
        return stored
    }

    /// A PDU registered without `snmpVersion`: probes v2c, then v1 (sysObjectID), and stores the version that
    /// answered. Returns it, or nil when neither did (v2c stays in use and the next test tries again).
    @discardableResult
    public func detectVersion(_ id: String) async throws -> SNMPTarget.Version? {
        let stored = try await stored(id)
        let device = stored.device
        guard device.snmpVersion == nil, device.deviceType != "snmp_switch", NetworkDevice.snmpDeviceTypes.contains(device.deviceType) else {
            return device.snmpVersion
        }
        for version in [SNMPTarget.Version.v2c, .v1] {
            var probe = device
            probe.detectedSnmpVersion = version
            do {
                let answer = try await client.get(try probe.snmpTarget(settings: settings), [InterfaceMIB.sysObjectID])
                guard answer.first.map({ !$0.value.isException }) ?? false else { continue }
            } catch SNMPError.timeout {
                continue
            }
            if device.detectedSnmpVersion != version {
                try await store.setDetectedVersion(id, version)
                logger.info("SNMP version detected", metadata: ["device": "\(id)", "version": "\(version.rawValue)"])
            }
            return version
        }
        return nil
    }

    /// sysDescr, sysName and sysUpTime, as the seed's statusCache; a success is served from the cache for
    /// `statusCacheSeconds` when `useCache` is true (the seed's opt-in). A device that does not answer, refuses the
    /// credentials or answers with an error is a normal answer here, as in the seed: `{"content": {"success": 0,
    /// "result": "<why>"}, "time": ..., "error": {"code": ..., "details": ...}}`, stored as the status and never served
    /// from the cache. Only a request the agent cannot make (unknown device, bad registration) throws.
    public func testConnectivity(_ id: String, useCache: Bool) async throws -> JSONValue {
        let stored = try await stored(id)
        if useCache, let cached = stored.statusCache, case .integer(let time) = cached["time"],
            Date().timeIntervalSince1970 - Double(time) < settings.statusCacheSeconds, cached["content"]?["success"] == 1
        {
            return cached
        }
        do {
            return try await probe(stored)
        } catch {
            let failure = AgentError.from(error)
            guard failure.status == .badGateway || failure.status == .gatewayTimeout else { throw failure }
            let status: JSONValue = [
                "content": ["success": 0, "result": .string(failure.message)], "time": .integer(Int64(Date().timeIntervalSince1970)),
                "error": ["code": .string(failure.code), "details": .object(failure.details)],
            ]
            try await store.setStatusCache(id, status)
            return status
        }
    }

    /// One connectivity probe: SNMP for SNMP devices, TCP and HTTP for a TELEJET.
    private func probe(_ stored: StoredNetworkDevice) async throws -> JSONValue {
        let id = stored.device.id
        if stored.device.deviceType == "telejetDigiOne" { return try await testWebResetter(stored) }
        var device = stored.device
        if device.snmpVersion == nil, device.detectedSnmpVersion == nil, let version = try await detectVersion(id) {
            device.detectedSnmpVersion = version
        }
        let target = try device.snmpTarget(settings: settings)
        let bindings = try await client.get(target, [InterfaceMIB.sysDescr, InterfaceMIB.sysName, InterfaceMIB.sysUpTime])
        let values = Dictionary(bindings.map { ($0.oid, $0.value) }, uniquingKeysWith: { first, _ in first })
        let description = values[InterfaceMIB.sysDescr]?.text ?? ""
        let status: JSONValue = [
            "content": ["success": 1, "result": .string(description)], "time": .integer(Int64(Date().timeIntervalSince1970)),
            "sysName": .string(values[InterfaceMIB.sysName]?.text ?? ""),
            "sysUpTime": .integer(Int64(values[InterfaceMIB.sysUpTime]?.unsigned ?? 0)),
        ]
        try await store.setStatusCache(id, status)
        return status
    }

    /// A TELEJET web resetter (behind a Digi One SP): its port must accept a connection and its web server must
    /// accept the device's credentials (HTTP Basic). Its reset protocol is not published, so this is all the agent
    /// can check.
    func testWebResetter(_ stored: StoredNetworkDevice) async throws -> JSONValue {
        let device = stored.device
        let port = device.port ?? 80
        let details: [String: JSONValue] = ["host": .string(device.snmpHost), "port": .integer(Int64(port))]
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(Int64(settings.timeoutSeconds * 1000)))
                .connect(host: device.snmpHost, port: port).get()
            try await channel.close()
        } catch {
            throw AgentError(
                status: .gatewayTimeout, code: "device_unreachable", message: "\(device.snmpHost):\(port) did not accept a connection: \(error)",
                details: details)
        }
        let host = device.snmpHost.contains(":") ? "[\(device.snmpHost)]" : device.snmpHost
        var request = HTTPClientRequest(url: "http://\(host):\(port)/")
        if let username = device.username {
            let credentials = Data("\(username):\(device.password?.revealed ?? "")".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(credentials)")
        }
        let status: UInt
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(settings.timeoutSeconds * 1000)))
            status = response.status.code
        } catch {
            throw AgentError(
                status: .badGateway, code: "device_not_http",
                message: "\(device.snmpHost):\(port) accepts connections but did not answer HTTP: \(error)", details: details)
        }
        guard status != 401, status != 403 else {
            throw AgentError(
                status: .badGateway, code: "device_auth_failed",
                message: "\(device.snmpHost):\(port) refused the username and password (HTTP \(status))", details: details)
        }
        guard status < 500 else {
            throw AgentError(status: .badGateway, code: "device_error", message: "\(device.snmpHost):\(port) answered HTTP \(status)", details: details)
        }
        let result: JSONValue = [
            "content": ["success": 1, "result": .string("TCP and HTTP \(device.snmpHost):\(port) answer (HTTP \(status) with the device's credentials)")],
            "time": .integer(Int64(Date().timeIntervalSince1970)),
        ]
        try await store.setStatusCache(device.id, result)
        return result
    }

    /// The interfaces, from the cache when the device has meta.cachePorts and a cache exists.
    public func ports(_ id: String, refresh: Bool = false) async throws -> [InterfacePort] {
        let stored = try await stored(id)
        if !refresh, stored.device.cachesPorts, let cached = stored.portsCache { return cached }
        let target = try stored.device.snmpTarget(settings: settings)
        let columns = try await client.withSession(target) { try $0.walkColumns(InterfaceMIB.portColumns) }
        let ports = InterfacePort.ports(from: columns)
        if stored.device.cachesPorts { try await store.setPortsCache(id, ports) }
        return ports
    }

    /// Reads sysUpTime and the octet counters: ifXTable's 64-bit counters, or ifTable's 32-bit ones on a device
    /// without ifXTable (remembered per device). Pure reading; nothing is stored.
    public func readCounters(_ stored: StoredNetworkDevice) async throws -> DevicePoll {
        let device = stored.device
        let target = try device.snmpTarget(settings: settings)
        let tryHighCapacity = stored.counterWidth != .bits32
        let flip = device.flipsInOut
        return try await client.withSession(target) { session in
            let uptime = try session.get([InterfaceMIB.sysUpTime]).first?.value.unsigned ?? 0
            let time = Date()
            if tryHighCapacity {
                let ports = CounterTable.counters(try session.walkColumns(CounterTable.columns(.bits64)), width: .bits64, flip: flip)
                if !ports.isEmpty {
                    return DevicePoll(deviceId: device.id, time: time, sysUpTime: UInt32(truncatingIfNeeded: uptime), width: .bits64, ports: ports)
                }
            }
            let ports = CounterTable.counters(try session.walkColumns(CounterTable.columns(.bits32)), width: .bits32, flip: flip)
            return DevicePoll(deviceId: device.id, time: time, sysUpTime: UInt32(truncatingIfNeeded: uptime), width: .bits32, ports: ports)
        }
    }

    /// Polls one device and records the result (see ``BandwidthStore/record(_:)``).
    public func poll(_ stored: StoredNetworkDevice) async throws -> PollOutcome {
        try await bandwidth.record(try await readCounters(stored))
    }

    /// setPortEnabled / setPortDisabled over SNMP: SET ifAdminStatus (1 up, 2 down) with the write community,
    /// then read it back. A port already in that state is left alone and reported unchanged.
    public func setPortAdminStatus(_ id: String, portId: String, enabled: Bool) async throws -> JSONValue {
        let stored = try await stored(id)
        let port = try InterfacePort.resolve(portId, in: try await ports(id, refresh: true))
        let wanted: Int64 = enabled ? 1 : 2
        let oid = InterfaceMIB.ifAdminStatus.appending(UInt(port.id))
        let readTarget = try stored.device.snmpTarget(settings: settings)
        let current = try await client.get(readTarget, [oid]).first?.value
        if current == .integer(wanted) {
            return ["portId": .integer(Int64(port.id)), "name": .string(port.name), "portAdminStatus": .string(String(wanted)), "changed": false]
        }
        _ = try await client.set(try stored.device.snmpTarget(settings: settings, write: true), [VariableBinding(oid: oid, value: .integer(wanted))])
        let readBack = try await client.get(readTarget, [oid]).first?.value
        guard readBack == .integer(wanted) else {
            throw AgentError(
                status: .badGateway, code: "verify_failed",
                message: "device \(stored.device.snmpHost) reports ifAdminStatus \(readBack?.text ?? "?") for port \(port.name), expected \(wanted)",
                details: ["portId": .integer(Int64(port.id)), "expected": .integer(wanted)])
        }
        try await store.setPortsCache(id, nil)
        return ["portId": .integer(Int64(port.id)), "name": .string(port.name), "portAdminStatus": .string(String(wanted)), "changed": true]
    }
}
