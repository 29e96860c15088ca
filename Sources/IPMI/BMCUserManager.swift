import AgentCore
import Foundation

/// `ipmi=off callin=off link=off privilege=3`: the channel access settings of the seed, validated token by token.
public struct ChannelAccessSettings: Sendable, Equatable {
    public var tokens: [String]

    static let switches: Set<String> = ["ipmi", "callin", "link"]

    /// Parses and validates; `field` names the request field in errors.
    public init(parsing text: String, field: String) throws {
        try Validation.noControlCharacters(text, field: field)
        var seen: Set<String> = []
        var tokens: [String] = []
        for token in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
            let parts = token.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw AgentError.invalidField(field, "\(token): expected key=value") }
            let (key, value) = (parts[0].lowercased(), parts[1].lowercased())
            guard seen.insert(key).inserted else { throw AgentError.invalidField(field, "\(key) given twice") }
            if Self.switches.contains(key) {
                guard value == "on" || value == "off" else { throw AgentError.invalidField(field, "\(key) must be on or off") }
            } else if key == "privilege" {
                guard let level = Int(value), BMCUser.privilegeNames[level] != nil else {
                    throw AgentError.invalidField(field, "privilege must be 1-5 or 15")
                }
            } else {
                throw AgentError.invalidField(field, "unknown setting \(key) (allowed: ipmi, callin, link, privilege)")
            }
            tokens.append("\(key)=\(value)")
        }
        guard !tokens.isEmpty else { throw AgentError.invalidField(field, "no settings given") }
        self.tokens = tokens
    }
}

/// Which user an operation is about: a slot, or a name looked up in `user list`.
public struct BMCUserReference: Sendable {
    public var slot: Int?
    public var username: String?

    public init(slot: Int?, username: String?) {
        self.slot = slot
        self.username = username
    }
}

/// The seed's BMC user operations over ipmitool. IPMI has no "delete": a deleted user is a slot with no
/// name, disabled, with NO ACCESS on the channel.
public struct BMCUserManager: Sendable {
    public let executor: IPMIExecutor

    public init(executor: IPMIExecutor) {
        self.executor = executor
    }

    /// Named users, as the seed's listUsers shows them.
    public func listUsers(channel: Int, _ connection: IPMIConnection) async throws -> [BMCUser] {
        try await allSlots(channel: channel, connection).filter { !$0.name.isEmpty }
    }

    func allSlots(channel: Int, _ connection: IPMIConnection) async throws -> [BMCUser] {
        IPMIOutputParser.users(try await executor.run(["user", "list", String(channel)], on: connection))
    }

    /// Creates a named user in the lowest free slot (above the anonymous slot 1). With `dontFailIfUserExists`
    /// an existing user of that name is reused.
    public func createUser(
        username: String, access: ChannelAccessSettings?, dontFailIfUserExists: Bool, channel: Int, _ connection: IPMIConnection
    ) async throws -> JSONValue {
        let name = try Self.validUsername(username, field: "username")
        let slots = try await allSlots(channel: channel, connection)
        if let existing = slots.first(where: { $0.name == name }) {
            guard dontFailIfUserExists else { throw Self.userExists(name, slot: existing.id) }
            var notApplied: [String]?
            if let access { notApplied = try await setAccess(slot: existing.id, access: access, channel: channel, connection) }
            return .object(["slot": .integer(Int64(existing.id)), "created": false].merging(Self.accessReport(notApplied)) { first, _ in first })
        }
        let slot = try Self.freeSlot(in: slots, bmc: connection.address)
        _ = try await executor.run(["user", "set", "name", String(slot), name], on: connection)
        var notApplied: [String]?
        if let access { notApplied = try await setAccess(slot: slot, access: access, channel: channel, connection) }
        try await verifyName(slot: slot, expected: name, channel: channel, connection)
        return .object(["slot": .integer(Int64(slot)), "created": true].merging(Self.accessReport(notApplied)) { first, _ in first })
    }

    /// The seed's recommended call: create (or, when allowed, update) a user with password and privilege,
    /// handling the edge cases: a free slot, an existing user, a password change the BMC refuses.
    public func createUserWithPasswordAndPrivilege(
        username: String, password: Secret, privilege: Int, access: ChannelAccessSettings?, dontFailIfUserExists: Bool,
        dontFailIfPasswordChangeFailed: Bool, dontChangePasswordIfUserExists: Bool, channel: Int, _ connection: IPMIConnection
    ) async throws -> JSONValue {
        let name = try Self.validUsername(username, field: "username")
        let level = try Self.validPrivilege(privilege, field: "privilege")
        let passwordSize = try Self.passwordSize(password, field: "password")
        let slots = try await allSlots(channel: channel, connection)
        let existing = slots.first { $0.name == name }
        if let existing, !dontFailIfUserExists { throw Self.userExists(name, slot: existing.id) }
        let slot = try existing?.id ?? Self.freeSlot(in: slots, bmc: connection.address)
        var warnings: [JSONValue] = []
        if existing == nil {
            _ = try await executor.run(["user", "set", "name", String(slot), name], on: connection)
        }
        var passwordChanged = false
        if existing == nil || !dontChangePasswordIfUserExists {
            do {
                _ = try await executor.runSecretBearing([["user", "set", "password", String(slot), password.revealed, passwordSize]], on: connection)
                passwordChanged = true
            } catch {
                guard existing != nil, dontFailIfPasswordChangeFailed else { throw error }
                warnings.append(.string("password change failed: \(AgentError.from(error).message)"))
            }
        }
        _ = try await executor.run(["user", "priv", String(slot), String(level), String(channel)], on: connection)
        let settings = try access ?? ChannelAccessSettings(parsing: "callin=on ipmi=on link=on privilege=\(level)", field: "channelAccessSettings")
        let notApplied = try await setAccess(slot: slot, access: settings, channel: channel, connection)
        if !notApplied.isEmpty { warnings.append(.string("the BMC did not apply \(notApplied.joined(separator: " ")) (read back)")) }
        _ = try await executor.run(["user", "enable", String(slot)], on: connection)
        try await verifyName(slot: slot, expected: name, channel: channel, connection)
        return .object([
            "slot": .integer(Int64(slot)), "created": .bool(existing == nil), "passwordChanged": .bool(passwordChanged),
            "warnings": .array(warnings),
        ].merging(Self.accessReport(notApplied)) { first, _ in first })
    }

    /// Checks an updateUser request before any job exists, so a bad slot, name, password or privilege is a 400.
    public static func validateUpdate(slot: Int, username: String?, password: Secret?, privilege: Int) throws {
        try validSlot(slot)
        _ = try validPrivilege(privilege, field: "privilege")
        if let username { _ = try validUsername(username, field: "username") }
        if let password { _ = try passwordSize(password, field: "password") }
    }

    /// Changes name, password, privilege and channel access of a slot.
    public func updateUser(
        slot: Int, username: String?, password: Secret?, privilege: Int, access: ChannelAccessSettings?, channel: Int,
        _ connection: IPMIConnection
    ) async throws -> JSONValue {
        let level = try Self.validPrivilege(privilege, field: "privilege")
        try Self.validSlot(slot)
        if let username {
            let name = try Self.validUsername(username, field: "username")
            _ = try await executor.run(["user", "set", "name", String(slot), name], on: connection)
        }
        if let password {
            let size = try Self.passwordSize(password, field: "password")
            _ = try await executor.runSecretBearing([["user", "set", "password", String(slot), password.revealed, size]], on: connection)
        }
        _ = try await executor.run(["user", "priv", String(slot), String(level), String(channel)], on: connection)
        var notApplied: [String]?
        if let access { notApplied = try await setAccess(slot: slot, access: access, channel: channel, connection) }
        if let username { try await verifyName(slot: slot, expected: username, channel: channel, connection) }
        return .object(["slot": .integer(Int64(slot)), "updated": true].merging(Self.accessReport(notApplied)) { first, _ in first })
    }

    /// Clears the slot: no name, disabled, NO ACCESS on the channel.
    public func deleteUser(_ user: BMCUserReference, channel: Int, _ connection: IPMIConnection) async throws -> JSONValue {
        let slot = try await resolve(user, check: true, channel: channel, connection)
        _ = try await executor.run(["user", "disable", String(slot)], on: connection)
        _ = try await executor.run(["channel", "setaccess", String(channel), String(slot), "callin=off", "ipmi=off", "link=off", "privilege=15"], on: connection)
        _ = try await executor.run(["user", "set", "name", String(slot), ""], on: connection)
        try await verifyName(slot: slot, expected: "", channel: channel, connection)
        return ["slot": .integer(Int64(slot)), "deleted": true]
    }

    public func setEnabled(_ enabled: Bool, _ user: BMCUserReference, withoutSlotCheck: Bool, channel: Int, _ connection: IPMIConnection) async throws -> JSONValue {
        let slot = try await resolve(user, check: !withoutSlotCheck, channel: channel, connection)
        _ = try await executor.run(["user", enabled ? "enable" : "disable", String(slot)], on: connection)
        return ["slot": .integer(Int64(slot)), "enabled": .bool(enabled)]
    }

    /// Sets a password; up to 16 bytes as an IPMI 1.5 password, 17-20 bytes as an IPMI 2.0 20-byte password.
    public func setPassword(_ password: Secret, _ user: BMCUserReference, withoutSlotCheck: Bool, channel: Int, _ connection: IPMIConnection) async throws -> JSONValue {
        let size = try Self.passwordSize(password, field: "password")
        let slot = try await resolve(user, check: !withoutSlotCheck, channel: channel, connection)
        _ = try await executor.runSecretBearing([["user", "set", "password", String(slot), password.revealed, size]], on: connection)
        return ["slot": .integer(Int64(slot)), "passwordBytes": .integer(Int64(size) ?? 16)]
    }

    public func setPrivilege(_ privilege: Int, _ user: BMCUserReference, withoutSlotCheck: Bool, channel: Int, _ connection: IPMIConnection) async throws -> JSONValue {
        let level = try Self.validPrivilege(privilege, field: "privilege")
        let slot = try await resolve(user, check: !withoutSlotCheck, channel: channel, connection)
        _ = try await executor.run(["user", "priv", String(slot), String(level), String(channel)], on: connection)
        return ["slot": .integer(Int64(slot)), "privilegeId": .integer(Int64(level))]
    }

    public func channelSetAccess(_ access: ChannelAccessSettings, _ user: BMCUserReference, withoutSlotCheck: Bool, channel: Int, _ connection: IPMIConnection) async throws -> JSONValue {
        let slot = try await resolve(user, check: !withoutSlotCheck, channel: channel, connection)
        let notApplied = try await setAccess(slot: slot, access: access, channel: channel, connection)
        return .object(["slot": .integer(Int64(slot)), "accessSettings": .string(access.tokens.joined(separator: " "))]
            .merging(Self.accessReport(notApplied)) { first, _ in first })
    }

    /// Sets the channel access, then reads it back: returns the settings the BMC did not apply (some BMCs, ipmi_sim
    /// among them, accept `channel setaccess` and ignore the ipmi/link/callin bits), so an answer never claims more
    /// than the BMC shows.
    @discardableResult
    private func setAccess(slot: Int, access: ChannelAccessSettings, channel: Int, _ connection: IPMIConnection) async throws -> [String] {
        _ = try await executor.run(["channel", "setaccess", String(channel), String(slot)] + access.tokens, on: connection)
        let readBack = IPMIOutputParser.channelAccess(try await executor.run(["channel", "getaccess", String(channel), String(slot)], on: connection))
        return access.tokens.filter { token in
            let parts = token.split(separator: "=", maxSplits: 1).map(String.init)
            return readBack[parts[0]] != parts[1]
        }
    }

    /// The result fields of a read-back access change: `accessVerified`, and what the BMC did not apply; nothing
    /// when no access change was asked for (nothing was read back, so nothing is claimed).
    static func accessReport(_ notApplied: [String]?) -> [String: JSONValue] {
        guard let notApplied else { return [:] }
        return ["accessVerified": .bool(notApplied.isEmpty), "accessNotApplied": .array(notApplied.map(JSONValue.string))]
    }

    /// The slot of a reference: a slot as given (checked against `user list` when `check`), or the slot of the name.
    func resolve(_ user: BMCUserReference, check: Bool, channel: Int, _ connection: IPMIConnection) async throws -> Int {
        if let slot = user.slot {
            try Self.validSlot(slot)
            guard check else { return slot }
            let slots = try await allSlots(channel: channel, connection)
            guard slots.contains(where: { $0.id == slot }) else { throw AgentError.notFound("BMC user slot", String(slot)) }
            return slot
        }
        guard let username = user.username else { throw AgentError.missingField("slot") }
        let name = try Self.validUsername(username, field: "username")
        guard let match = try await listUsers(channel: channel, connection).first(where: { $0.name == name }) else {
            throw AgentError.notFound("BMC user", name)
        }
        return match.id
    }

    private func verifyName(slot: Int, expected: String, channel: Int, _ connection: IPMIConnection) async throws {
        let slots = try await allSlots(channel: channel, connection)
        let actual = slots.first { $0.id == slot }?.name ?? "<missing slot>"
        guard actual == expected else {
            throw IPMIError.verificationFailed(bmc: connection.address, expected: "slot \(slot) named '\(expected)'", actual: "'\(actual)'")
        }
    }

    static func freeSlot(in slots: [BMCUser], bmc: String) throws -> Int {
        guard let free = slots.filter({ $0.id > 2 && $0.name.isEmpty }).map(\.id).min()
            ?? slots.filter({ $0.id > 1 && $0.name.isEmpty }).map(\.id).min()
        else {
            throw AgentError.conflict("no_free_slot", "BMC \(bmc) has no free user slot", details: ["bmc": .string(bmc)])
        }
        return free
    }

    static func userExists(_ name: String, slot: Int) -> AgentError {
        AgentError.conflict("user_exists", "a BMC user named \(name) exists in slot \(slot)", details: ["slot": .integer(Int64(slot)), "field": "username"])
    }

    /// 1-16 bytes of printable ASCII without quotes.
    static func validUsername(_ name: String, field: String) throws -> String {
        guard (1...16).contains(name.utf8.count) else { throw AgentError.invalidField(field, "must be 1 to 16 bytes") }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "'" }) else {
            throw AgentError.invalidField(field, "printable ASCII without spaces or quotes only")
        }
        return name
    }

    static func validPrivilege(_ level: Int, field: String) throws -> Int {
        guard BMCUser.privilegeNames[level] != nil else { throw AgentError.invalidField(field, "must be 1-5 or 15") }
        return level
    }

    static func validSlot(_ slot: Int) throws {
        guard (1...63).contains(slot) else { throw AgentError.invalidField("slot", "must be from 1 to 63") }
    }

    /// "16" or "20": the password storage size ipmitool must use.
    static func passwordSize(_ password: Secret, field: String) throws -> String {
        let bytes = password.revealed.utf8.count
        guard (1...20).contains(bytes) else { throw AgentError.invalidField(field, "must be 1 to 20 bytes") }
        guard !password.revealed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "\"" }) else {
            throw AgentError.invalidField(field, "must not contain control characters or double quotes")
        }
        return bytes > 16 ? "20" : "16"
    }
}
