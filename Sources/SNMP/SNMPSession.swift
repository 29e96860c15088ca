import AgentCore
import CNetSNMP
import Foundation

/// One open net-snmp single-session handle. Blocking; used by one thread at a time (``SNMPClient`` runs
/// it on its thread pool) and closed when released.
public final class SNMPSession {
    let handle: UnsafeMutableRawPointer
    public let target: SNMPTarget
    /// Guards against a device that returns the same OIDs forever.
    static let maximumWalkBindings = 200_000

    init(target: SNMPTarget) throws {
        NetSNMPLibrary.initialize()
        self.target = target
        let security = target.security
        var error = [CChar](repeating: 0, count: 512)
        let opened: UnsafeMutableRawPointer? = target.peerName.withCString { peer in
            (target.community?.revealed ?? "").withCString { community in
                (security?.user ?? "").withCString { user in
                    (security?.authenticationPassphrase?.revealed ?? "").withCString { authentication in
                        (security?.privacyPassphrase?.revealed ?? "").withCString { privacy in
                            (security?.context ?? "").withCString { context in
                                var parameters = ra_session_parameters()
                                parameters.peer = peer
                                switch target.version {
                                case .v1: parameters.version = Int(SNMP_VERSION_1)
                                case .v2c: parameters.version = Int(SNMP_VERSION_2c)
                                case .v3: parameters.version = Int(SNMP_VERSION_3)
                                }
                                parameters.community = community
                                parameters.security_name = user
                                parameters.security_level = Self.levelCode(security?.level ?? .noAuthNoPriv)
                                parameters.auth_algorithm = security?.authentication.libraryCode ?? 1
                                parameters.auth_passphrase = security?.authenticationPassphrase == nil ? nil : authentication
                                parameters.priv_algorithm = security?.privacy.libraryCode ?? 1
                                parameters.priv_passphrase = security?.privacyPassphrase == nil ? nil : privacy
                                parameters.context = security?.context == nil ? nil : context
                                parameters.timeout_microseconds = Int(target.timeoutSeconds * 1_000_000)
                                parameters.retries = Int32(target.retries)
                                return ra_open_session(&parameters, &error, error.count)
                            }
                        }
                    }
                }
            }
        }
        guard let opened else {
            let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Self.classify(message, host: target.address, redactor: Redactor(secrets: target.secrets))
        }
        handle = opened
    }

    deinit {
        snmp_sess_close(handle)
    }

    static func levelCode(_ level: SNMPTarget.SecurityLevel) -> Int32 {
        switch level {
        case .noAuthNoPriv: return Int32(SNMP_SEC_LEVEL_NOAUTH)
        case .authNoPriv: return Int32(SNMP_SEC_LEVEL_AUTHNOPRIV)
        case .authPriv: return Int32(SNMP_SEC_LEVEL_AUTHPRIV)
        }
    }

    // MARK: Requests

    public func get(_ oids: [OID]) throws -> [VariableBinding] {
        try send(command: RA_MSG_GET, oids: oids)
    }

    public func getNext(_ oids: [OID]) throws -> [VariableBinding] {
        try send(command: RA_MSG_GETNEXT, oids: oids)
    }

    public func getBulk(_ oids: [OID], nonRepeaters: Int = 0, maxRepetitions: Int) throws -> [VariableBinding] {
        try send(command: RA_MSG_GETBULK, oids: oids, nonRepeaters: nonRepeaters, maxRepetitions: maxRepetitions)
    }

    /// SET, then returns the device's echo of the bindings.
    public func set(_ bindings: [VariableBinding]) throws -> [VariableBinding] {
        guard let pdu = snmp_pdu_create(RA_MSG_SET) else { throw SNMPError.sessionFailed(host: target.address, detail: "out of memory") }
        for binding in bindings {
            var name = binding.oid.components
            switch binding.value {
            case .integer(let value):
                var number = Int(value)
                snmp_pdu_add_variable(pdu, &name, name.count, RA_ASN_INTEGER, &number, MemoryLayout<Int>.size)
            case .octets(let bytes):
                var copy = bytes
                snmp_pdu_add_variable(pdu, &name, name.count, RA_ASN_OCTET_STR, &copy, copy.count)
            case .gauge32(let value):
                var number = UInt(value)
                snmp_pdu_add_variable(pdu, &name, name.count, RA_ASN_GAUGE, &number, MemoryLayout<UInt>.size)
            default:
                snmp_free_pdu(pdu)
                throw AgentError.unsupported("SET of \(binding.value) is not supported")
            }
        }
        return try exchange(pdu)
    }

    /// A subtree: GETBULK on v2c/v3, GETNEXT on v1, until the subtree ends.
    /// `progress` hears the number of values so far after every response.
    public func walk(_ root: OID, progress: (Int) -> Void = { _ in }) throws -> [VariableBinding] {
        try walkColumns([root], progress: progress)[root] ?? []
    }

    /// Several table columns at once: each request carries the next position of every unfinished column, so a
    /// table of C columns takes one round trip per `maxRepetitions` rows, not C walks.
    public func walkColumns(_ columns: [OID], progress: (Int) -> Void = { _ in }) throws -> [OID: [VariableBinding]] {
        var results: [OID: [VariableBinding]] = Dictionary(uniqueKeysWithValues: columns.map { ($0, []) })
        var cursors: [OID: OID] = Dictionary(uniqueKeysWithValues: columns.map { ($0, $0) })
        var active = columns
        var total = 0
        while !active.isEmpty {
            let request = active.map { cursors[$0]! }
            let response: [VariableBinding]
            if target.version == .v1 {
                response = try getNext(request)
            } else {
                // Devices may answer a GETBULK with fewer rows than asked (RFC 3416 4.2.3); the loop just asks again.
                response = try getBulk(request, maxRepetitions: max(1, target.maxRepetitions))
            }
            guard !response.isEmpty else { break }
            var finished: Set<OID> = []
            for (index, binding) in response.enumerated() {
                let column = active[index % active.count]
                guard !finished.contains(column) else { continue }
                guard column.isAncestor(of: binding.oid), !binding.value.isException, binding.oid > cursors[column]! else {
                    finished.insert(column)
                    continue
                }
                results[column, default: []].append(binding)
                cursors[column] = binding.oid
                total += 1
            }
            guard total < Self.maximumWalkBindings else {
                throw SNMPError.deviceError(host: target.address, status: "walk exceeded \(Self.maximumWalkBindings) bindings", oid: columns.first?.description)
            }
            active.removeAll { finished.contains($0) }
            progress(total)
        }
        return results
    }

    // MARK: Exchange

    private func send(command: Int32, oids: [OID], nonRepeaters: Int = 0, maxRepetitions: Int = 0) throws -> [VariableBinding] {
        guard let pdu = snmp_pdu_create(command) else { throw SNMPError.sessionFailed(host: target.address, detail: "out of memory") }
        if command == RA_MSG_GETBULK { ra_pdu_set_bulk(pdu, nonRepeaters, maxRepetitions) }
        for oid in oids {
            var name = oid.components
            snmp_add_null_var(pdu, &name, name.count)
        }
        return try exchange(pdu)
    }

    /// Sends `pdu` (which net-snmp then owns) and converts the response.
    private func exchange(_ pdu: UnsafeMutablePointer<netsnmp_pdu>) throws -> [VariableBinding] {
        var response: UnsafeMutablePointer<netsnmp_pdu>?
        let status = snmp_sess_synch_response(handle, pdu, &response)
        defer { if let response { snmp_free_pdu(response) } }
        guard status == RA_STAT_SUCCESS, let response else {
            if status == RA_STAT_TIMEOUT { throw SNMPError.timeout(host: target.address) }
            let message = ra_session_error(handle).map { pointer -> String in
                defer { free(pointer) }
                return String(cString: pointer)
            } ?? "request failed"
            throw Self.classify(message, host: target.address, redactor: Redactor(secrets: target.secrets))
        }
        let bindings = Self.bindings(of: response)
        let errorStatus = Int(ra_pdu_error_status(response))
        if errorStatus != 0 {
            let index = Int(ra_pdu_error_index(response))
            let oid = index > 0 && index <= bindings.count ? bindings[index - 1].oid.description : nil
            throw SNMPError.deviceError(host: target.address, status: SNMPError.statusNames[errorStatus] ?? "error \(errorStatus)", oid: oid)
        }
        return bindings
    }

    package static func bindings(of pdu: UnsafeMutablePointer<netsnmp_pdu>) -> [VariableBinding] {
        var bindings: [VariableBinding] = []
        var cursor = pdu.pointee.variables
        while let variable = cursor {
            let item = variable.pointee
            let name = OID(Array(UnsafeBufferPointer(start: item.name, count: item.name_length)))
            bindings.append(VariableBinding(oid: name, value: value(of: item)))
            cursor = item.next_variable
        }
        return bindings
    }

    static func value(of item: netsnmp_variable_list) -> SNMPValue {
        func bytes() -> [UInt8] {
            guard let pointer = item.val.string, item.val_len > 0 else { return [] }
            return Array(UnsafeBufferPointer(start: pointer, count: item.val_len))
        }
        func unsigned32() -> UInt32 {
            UInt32(truncatingIfNeeded: UInt(bitPattern: item.val.integer?.pointee ?? 0))
        }
        switch item.type {
        case RA_ASN_INTEGER: return .integer(Int64(item.val.integer?.pointee ?? 0))
        case RA_ASN_OCTET_STR: return .octets(bytes())
        case RA_ASN_NULL: return .null
        case RA_ASN_OBJECT_ID:
            guard let pointer = item.val.objid else { return .null }
            return .objectIdentifier(OID(Array(UnsafeBufferPointer(start: pointer, count: item.val_len / MemoryLayout<UInt>.size))))
        case RA_ASN_IPADDRESS: return .ipAddress(bytes())
        case RA_ASN_COUNTER: return .counter32(unsigned32())
        case RA_ASN_GAUGE: return .gauge32(unsigned32())
        case RA_ASN_TIMETICKS: return .timeTicks(unsigned32())
        case RA_ASN_OPAQUE: return .opaque(bytes())
        case RA_ASN_COUNTER64:
            guard let counter = item.val.counter64?.pointee else { return .counter64(0) }
            return .counter64(UInt64(counter.high & 0xffff_ffff) << 32 | UInt64(counter.low & 0xffff_ffff))
        case RA_NOSUCHOBJECT: return .noSuchObject
        case RA_NOSUCHINSTANCE: return .noSuchInstance
        case RA_ENDOFMIBVIEW: return .endOfMibView
        default: return .opaque(bytes())
        }
    }

    /// Turns net-snmp's error text into a typed error.
    static func classify(_ message: String, host: String, redactor: Redactor) -> SNMPError {
        let text = redactor.redact(message)
        let lowered = text.lowercased()
        if lowered.contains("timeout") { return .timeout(host: host) }
        let authentication = ["authentication failure", "unknown user", "unsupported security level", "decryption error", "unknown engine",
                              "wrong digest", "passphrases need", "not in time window", "authorization error"]
        if authentication.contains(where: lowered.contains) { return .authenticationFailed(host: host, detail: text) }
        return .sessionFailed(host: host, detail: text)
    }
}
