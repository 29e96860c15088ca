import AgentCore
import Foundation

/// A switch or PDU the controller registers with the agent, with the seed's fields. Decoding validates every
/// field; secrets are kept as ``Secret`` and shown masked.
///
/// The seed has no SNMPv3 user name field: the agent takes `snmpUsername` and `snmpAuthPassword` (the seed's
/// `snmpCryptoPassword` is the privacy passphrase). `snmpWriteCommunity` optionally names the community for SETs.
public struct NetworkDevice: Sendable, Equatable {
    /// The seed's deviceType values.
    public static let deviceTypes: Set<String> = [
        "snmp_switch", "telejetDigiOne", "apc", "apcCpdu", "racktivityEnergySwitch", "racktivityPowerManager", "cyberpowerAts",
        "cyberpowerEpdu2", "dellrPdu", "enlogicv1", "intertechSw", "intertechSm", "intertechSa", "azepdu", "geistV5",
        "raritanDominionSX", "raritanDominionKXII", "raritanDominionKXIII", "raritanDominionPduMib1", "sentry4", "sentry3", "ipoman",
    ]
    /// Device types reached over SNMP (all but the serial/KVM ones).
    public static let snmpDeviceTypes = deviceTypes.subtracting(["telejetDigiOne", "raritanDominionSX", "raritanDominionKXII", "raritanDominionKXIII"])
    /// SSH dialects of advanced management (`managementVendor`).
    public static let managementVendors: Set<String> = ["juniperSsh", "aristaSsh", "ciscoNxosSsh", "dellOs10Ssh", "ciscoIosSsh"]

    public var id: String
    public var deviceType: String
    public var name: String
    /// As given: a name or address, optionally with `:port` (`[v6]:port`).
    public var host: String
    public var snmpHost: String
    public var snmpPort: Int
    public var snmpVersion: SNMPTarget.Version?
    /// For a PDU registered without a version (the seed detects theirs): the version it answered, v2c or v1.
    public var detectedSnmpVersion: SNMPTarget.Version?
    public var snmpCommunity: Secret?
    public var snmpWriteCommunity: Secret?
    public var snmpUsername: String?
    public var snmpAuthLevel: SNMPTarget.SecurityLevel?
    public var snmpAuthAlgo: SNMPTarget.AuthenticationAlgorithm?
    public var snmpAuthPassword: Secret?
    public var snmpCryptoAlgo: SNMPTarget.PrivacyAlgorithm?
    public var snmpCryptoPassword: Secret?
    public var features: [String]
    public var meta: [String: JSONValue]
    public var enableAdvancedManagement: Bool
    public var managementVendor: String?
    public var managementPort: Int?
    public var managementUser: String?
    public var managementPassword: Secret?
    /// Serial-console devices (telejetDigiOne) use port, username and password.
    public var port: Int?
    public var username: String?
    public var password: Secret?
    public var agentId: Int?

    public var collectsBandwidth: Bool { features.contains("bw_collection") }
    /// `meta.flip_in_out`: store traffic from the server's point of view rather than the switch port's.
    public var flipsInOut: Bool { Self.flag(meta["flip_in_out"]) }
    /// `meta.cachePorts`: answer the ports list from the cache until clearCache.
    public var cachesPorts: Bool { Self.flag(meta["cachePorts"]) }

    static func flag(_ value: JSONValue?) -> Bool {
        switch value {
        case .bool(let flag): return flag
        case .integer(let number): return number != 0
        case .string(let text): return ["1", "true", "yes", "on"].contains(text.lowercased())
        default: return false
        }
    }

    /// The read target for SNMP, with the agent's timing defaults (device meta `maxRepetitions`,
    /// `timeoutSeconds`, `retries` override them).
    /// PDUs registered without a version (the seed detects theirs) are spoken to with the version they answered,
    /// v2c until detected.
    public func snmpTarget(settings: SNMPConfiguration, write: Bool = false) throws -> SNMPTarget {
        guard let version = snmpVersion ?? detectedSnmpVersion ?? (deviceType == "snmp_switch" ? nil : .v2c) else {
            throw AgentError.unsupported("device \(id) has no SNMP version")
        }
        var security: SNMPTarget.UserSecurity?
        if version == .v3, let user = snmpUsername {
            security = SNMPTarget.UserSecurity(
                user: user, level: snmpAuthLevel ?? .noAuthNoPriv, authentication: snmpAuthAlgo ?? .sha,
                authenticationPassphrase: snmpAuthPassword, privacy: snmpCryptoAlgo ?? .aes128, privacyPassphrase: snmpCryptoPassword,
                context: meta["snmpContext"]?.stringValue)
        }
        let community = write ? (snmpWriteCommunity ?? snmpCommunity) : snmpCommunity
        let repetitions = meta["maxRepetitions"].flatMap { if case .integer(let value) = $0 { Int(value) } else { nil } } ?? settings.maxRepetitions
        let timeout = meta["timeoutSeconds"].flatMap { value -> Double? in
            switch value {
            case .double(let number): return number
            case .integer(let number): return Double(number)
            default: return nil
            }
        } ?? settings.timeoutSeconds
        return SNMPTarget(
            host: snmpHost, port: snmpPort, version: version, community: community, security: security, timeoutSeconds: timeout,
            retries: settings.retries, maxRepetitions: max(1, min(repetitions, 200)))
    }

    /// Meta keys that hold secrets (an SSH private key for advanced management and its passphrase).
    public static let secretMetaKeys: Set<String> = ["managementPrivateKey", "managementPrivateKeyPassphrase"]

    /// Every secret of the device, for redaction.
    public var secrets: [Secret] {
        [snmpCommunity, snmpWriteCommunity, snmpAuthPassword, snmpCryptoPassword, managementPassword, password].compactMap { $0 }
            + Self.secretMetaKeys.compactMap { meta[$0]?.stringValue.map(Secret.init) }
    }

    /// `meta` with secret values masked.
    public var maskedMeta: [String: JSONValue] {
        meta.reduce(into: [:]) { result, entry in
            result[entry.key] = Self.secretMetaKeys.contains(entry.key) ? .string(Secret.mask) : entry.value
        }
    }
}

extension NetworkDevice: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, deviceType, name, host, snmpVersion, snmpCommunity, snmpWriteCommunity, snmpUsername, snmpAuthLevel, snmpAuthAlgo
        case snmpAuthPassword, snmpCryptoAlgo, snmpCryptoPassword, features, meta, enableAdvancedManagement, managementVendor
        case managementPort, managementUser, managementPassword, port, username, password, agentId, detectedSnmpVersion
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeTolerantStringIfPresent(forKey: .id) ?? ""
        deviceType = try container.decodeTolerantString(forKey: .deviceType)
        guard Self.deviceTypes.contains(deviceType) else {
            throw container.invalid(.deviceType, "unknown deviceType \(deviceType) (one of \(Self.deviceTypes.sorted().joined(separator: ", ")))")
        }
        name = try container.decodeTolerantString(forKey: .name)
        guard !name.isEmpty, name.count <= 255 else { throw container.invalid(.name, "must be 1 to 255 characters") }
        try Self.plain(name, .name, container)
        host = try container.decodeTolerantString(forKey: .host)
        do {
            (snmpHost, snmpPort) = try Validation.hostAndPort(host, defaultPort: 161, field: "host")
        } catch let error as AgentError {
            throw container.invalid(.host, error.message.replacingOccurrences(of: "host: ", with: ""))
        }
        agentId = try container.decodeTolerantIntIfPresent(forKey: .agentId)
        features = try container.decodeIfPresent([String].self, forKey: .features) ?? []
        for feature in features where !feature.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
            throw container.invalid(.features, "feature names are letters, digits, - and _")
        }
        let metaValue = try container.decodeIfPresent(JSONValue.self, forKey: .meta) ?? [:]
        switch metaValue {
        case .object(let members): meta = members
        case .null: meta = [:]
        case .array(let items) where items.isEmpty: meta = [:]
        default: throw container.invalid(.meta, "expected an object")
        }
        snmpCommunity = try Self.secret(container, .snmpCommunity)
        snmpWriteCommunity = try Self.secret(container, .snmpWriteCommunity)
        snmpAuthPassword = try Self.secret(container, .snmpAuthPassword)
        snmpCryptoPassword = try Self.secret(container, .snmpCryptoPassword)
        managementPassword = try Self.secret(container, .managementPassword)
        password = try Self.secret(container, .password)
        snmpUsername = try container.decodeTolerantStringIfPresent(forKey: .snmpUsername).flatMap { $0.isEmpty ? nil : $0 }
        if let user = snmpUsername { try Self.plain(user, .snmpUsername, container) }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .snmpVersion), !text.isEmpty {
            let normalised = text.lowercased().hasPrefix("v") ? String(text.lowercased().dropFirst()) : text.lowercased()
            guard let version = SNMPTarget.Version(rawValue: normalised == "2" ? "2c" : normalised) else {
                throw container.invalid(.snmpVersion, "must be 1, 2c or 3")
            }
            snmpVersion = version
        }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .detectedSnmpVersion), !text.isEmpty {
            detectedSnmpVersion = SNMPTarget.Version(rawValue: text)
        }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .snmpAuthLevel), !text.isEmpty {
            guard let level = SNMPTarget.SecurityLevel.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
                throw container.invalid(.snmpAuthLevel, "must be noAuthNoPriv, authNoPriv or authPriv")
            }
            snmpAuthLevel = level
        }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .snmpAuthAlgo), !text.isEmpty {
            guard let algorithm = SNMPTarget.AuthenticationAlgorithm(lenient: text) else {
                throw container.invalid(.snmpAuthAlgo, "must be MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512")
            }
            snmpAuthAlgo = algorithm
        }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .snmpCryptoAlgo), !text.isEmpty {
            guard let algorithm = SNMPTarget.PrivacyAlgorithm(lenient: text) else {
                throw container.invalid(.snmpCryptoAlgo, "must be DES, AES (AES-128), AES-192 or AES-256")
            }
            snmpCryptoAlgo = algorithm
        }
        enableAdvancedManagement = try container.decodeTolerantBoolIfPresent(forKey: .enableAdvancedManagement) ?? false
        managementVendor = try container.decodeTolerantStringIfPresent(forKey: .managementVendor).flatMap { $0.isEmpty ? nil : $0 }
        managementPort = try container.decodeTolerantIntIfPresent(forKey: .managementPort)
        managementUser = try container.decodeTolerantStringIfPresent(forKey: .managementUser).flatMap { $0.isEmpty ? nil : $0 }
        port = try container.decodeTolerantIntIfPresent(forKey: .port)
        username = try container.decodeTolerantStringIfPresent(forKey: .username).flatMap { $0.isEmpty ? nil : $0 }
        try validateCombinations(container)
    }

    private func validateCombinations(_ container: KeyedDecodingContainer<CodingKeys>) throws {
        if Self.snmpDeviceTypes.contains(deviceType) {
            if deviceType == "snmp_switch", snmpVersion == nil { throw container.invalid(.snmpVersion, "required for snmp_switch (1, 2c or 3)") }
            let version = snmpVersion ?? .v2c
            if version == .v3 {
                guard snmpUsername != nil else {
                    throw container.invalid(
                        .snmpUsername,
                        "required for SNMPv3: the seed's registration has no user-name field, so add snmpUsername (the USM user) and, "
                            + "for authNoPriv or authPriv, snmpAuthPassword (the authentication passphrase); snmpCryptoPassword stays the privacy passphrase")
                }
                guard let level = snmpAuthLevel else { throw container.invalid(.snmpAuthLevel, "required for SNMPv3") }
                if level != .noAuthNoPriv {
                    guard snmpAuthAlgo != nil else { throw container.invalid(.snmpAuthAlgo, "required for \(level.rawValue)") }
                    guard let passphrase = snmpAuthPassword, passphrase.revealed.count >= 8 else {
                        throw container.invalid(.snmpAuthPassword, "required for \(level.rawValue), at least 8 characters")
                    }
                }
                if level == .authPriv {
                    guard snmpCryptoAlgo != nil else { throw container.invalid(.snmpCryptoAlgo, "required for authPriv") }
                    guard let passphrase = snmpCryptoPassword, passphrase.revealed.count >= 8 else {
                        throw container.invalid(.snmpCryptoPassword, "required for authPriv, at least 8 characters")
                    }
                }
            } else {
                guard let community = snmpCommunity, !community.isEmpty else { throw container.invalid(.snmpCommunity, "required for SNMP \(version.rawValue)") }
                guard community.revealed.count <= 255 else { throw container.invalid(.snmpCommunity, "at most 255 characters") }
            }
        }
        if deviceType == "telejetDigiOne" {
            guard let port, (1...65535).contains(port) else { throw container.invalid(.port, "required for telejetDigiOne, 1 to 65535") }
            guard username != nil else { throw container.invalid(.username, "required for telejetDigiOne") }
        }
        if let managementPort, !(0...65535).contains(managementPort) { throw container.invalid(.managementPort, "must be between 0 and 65535") }
        if let user = managementUser { try Self.plain(user, .managementUser, container) }
        if enableAdvancedManagement {
            guard let vendor = managementVendor, Self.managementVendors.contains(vendor) else {
                throw container.invalid(.managementVendor, "required with enableAdvancedManagement, one of \(Self.managementVendors.sorted().joined(separator: ", "))")
            }
            guard managementUser != nil else { throw container.invalid(.managementUser, "required with enableAdvancedManagement") }
            guard managementPassword != nil || meta["managementPrivateKey"] != nil else {
                throw container.invalid(.managementPassword, "required with enableAdvancedManagement (or meta.managementPrivateKey)")
            }
        }
    }

    /// A secret field: a string without control characters (a newline in a community must never reach a
    /// config or a command line). The mask itself is kept as given: the store replaces it with the stored
    /// secret, so a controller may send back what GET showed.
    private static func secret(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Secret? {
        guard let value = try container.decodeIfPresent(Secret.self, forKey: key), !value.isEmpty else { return nil }
        if value.revealed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw container.invalid(key, "must not contain control characters such as newlines")
        }
        return value
    }

    private static func plain(_ value: String, _ key: CodingKeys, _ container: KeyedDecodingContainer<CodingKeys>) throws {
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw container.invalid(key, "must not contain control characters such as newlines")
        }
    }
}

extension NetworkDevice {
    /// Replaces masked secrets (`**************`) with the stored device's; throws naming the field when there
    /// is nothing stored to take them from.
    public func resolvingMaskedSecrets(from stored: NetworkDevice?) throws -> NetworkDevice {
        var resolved = self
        let fields: [(WritableKeyPath<NetworkDevice, Secret?>, String)] = [
            (\.snmpCommunity, "snmpCommunity"), (\.snmpWriteCommunity, "snmpWriteCommunity"), (\.snmpAuthPassword, "snmpAuthPassword"),
            (\.snmpCryptoPassword, "snmpCryptoPassword"), (\.managementPassword, "managementPassword"), (\.password, "password"),
        ]
        for (keyPath, field) in fields where resolved[keyPath: keyPath]?.revealed == Secret.mask {
            guard let kept = stored?[keyPath: keyPath] else {
                throw AgentError.invalidField(field, "the masked value can only stand for a secret the agent already has")
            }
            resolved[keyPath: keyPath] = kept
        }
        for key in Self.secretMetaKeys where resolved.meta[key]?.stringValue == Secret.mask {
            guard let kept = stored?.meta[key] else {
                throw AgentError.invalidField("meta.\(key)", "the masked value can only stand for a secret the agent already has")
            }
            resolved.meta[key] = kept
        }
        return resolved
    }

    /// What the agent stores: every field, secrets in clear (the database file is 0600).
    public var storageRepresentation: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "deviceType": .string(deviceType), "name": .string(name), "host": .string(host),
            "features": .array(features.map(JSONValue.string)), "meta": .object(meta),
            "enableAdvancedManagement": .bool(enableAdvancedManagement),
        ]
        func put(_ key: String, _ value: String?) { if let value { object[key] = .string(value) } }
        put("snmpVersion", snmpVersion?.rawValue)
        put("detectedSnmpVersion", detectedSnmpVersion?.rawValue)
        put("snmpCommunity", snmpCommunity?.revealed)
        put("snmpWriteCommunity", snmpWriteCommunity?.revealed)
        put("snmpUsername", snmpUsername)
        put("snmpAuthLevel", snmpAuthLevel?.rawValue)
        put("snmpAuthAlgo", snmpAuthAlgo?.rawValue)
        put("snmpAuthPassword", snmpAuthPassword?.revealed)
        put("snmpCryptoAlgo", snmpCryptoAlgo?.rawValue)
        put("snmpCryptoPassword", snmpCryptoPassword?.revealed)
        put("managementVendor", managementVendor)
        put("managementUser", managementUser)
        put("managementPassword", managementPassword?.revealed)
        put("username", username)
        put("password", password?.revealed)
        if let managementPort { object["managementPort"] = .integer(Int64(managementPort)) }
        if let port { object["port"] = .integer(Int64(port)) }
        if let agentId { object["agentId"] = .integer(Int64(agentId)) }
        return .object(object)
    }

    /// The seed's device JSON with every secret masked.
    public var apiRepresentation: [String: JSONValue] {
        func masked(_ secret: Secret?) -> JSONValue { secret == nil ? "" : .string(Secret.mask) }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return [
            "id": Int64(id).map(JSONValue.integer) ?? .string(id), "name": .string(name), "host": .string(host),
            "deviceType": .string(deviceType), "snmpCommunity": masked(snmpCommunity), "snmpWriteCommunity": masked(snmpWriteCommunity),
            "snmpVersion": text(snmpVersion?.rawValue), "snmpVersionDetected": text(detectedSnmpVersion?.rawValue),
            "agentId": agentId.map { .integer(Int64($0)) } ?? .null,
            "features": .array(features.map(JSONValue.string)), "meta": .object(maskedMeta), "username": .string(username ?? ""),
            "password": masked(password), "port": port.map { .integer(Int64($0)) } ?? .null,
            "snmpUsername": text(snmpUsername), "snmpAuthAlgo": text(snmpAuthAlgo?.rawValue), "snmpAuthLevel": text(snmpAuthLevel?.rawValue),
            "snmpAuthPassword": masked(snmpAuthPassword), "snmpCryptoAlgo": text(snmpCryptoAlgo?.rawValue),
            "snmpCryptoPassword": masked(snmpCryptoPassword), "enableAdvancedManagement": .integer(enableAdvancedManagement ? 1 : 0),
            "managementVendor": text(managementVendor), "managementPort": managementPort.map { .integer(Int64($0)) } ?? .null,
            "managementUser": .string(managementUser ?? ""), "managementPassword": masked(managementPassword),
            "rootType": .string(deviceType), "extendedDetailsAvailable": .bool(Self.snmpDeviceTypes.contains(deviceType)),
        ]
    }
}
