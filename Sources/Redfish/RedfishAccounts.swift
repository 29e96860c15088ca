import AgentCore
import Foundation

/// One `ManagerAccount` as the seed's listUsers shows a BMC user.
public struct RedfishAccount: Sendable, Equatable, Encodable {
    /// The account's `Id` (a slot number on most BMCs; OpenBMC uses the user name).
    public var accountId: String
    public var path: String
    public var name: String
    public var enabled: Bool
    public var locked: Bool
    public var roleId: String?
    var accountTypes: [String]

    init(path: String, document: JSONValue) {
        self.path = path
        accountId = document["Id"]?.stringValue ?? String(path.split(separator: "/").last ?? "")
        name = document["UserName"]?.stringValue ?? ""
        enabled = document["Enabled"]?.boolValue ?? false
        locked = document["Locked"]?.boolValue ?? false
        roleId = document["RoleId"]?.stringValue
        accountTypes = document.strings("AccountTypes") ?? []
    }

    /// The seed's slot: the account id when it is a number.
    public var slot: Int? { Int(accountId) }

    /// The seed's privilege level for the role: Administrator 4, Operator 3, ReadOnly 2, NoAccess 15.
    public var privilegeId: Int? { roleId.flatMap { RedfishRoles.privilege(forRole: $0) } }

    enum CodingKeys: String, CodingKey { case id, accountId, name, enabled, locked, roleId, privilegeName, privilegeId, callin, linkAuth, ipmiMsg }

    /// The seed's listUsers fields (`id`, `name`, `callin`, `linkAuth`, `ipmiMsg`, `privilegeName`, `privilegeId`) plus
    /// what Redfish adds (`enabled`, `locked`, `roleId`, `accountId`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let slot { try container.encode(slot, forKey: .id) } else { try container.encode(accountId, forKey: .id) }
        try container.encode(accountId, forKey: .accountId)
        try container.encode(name, forKey: .name)
        try container.encode(enabled, forKey: .enabled)
        try container.encode(locked, forKey: .locked)
        try container.encodeIfPresent(roleId, forKey: .roleId)
        try container.encode(privilegeId.flatMap { RedfishRoles.privilegeNames[$0] } ?? (roleId ?? "").uppercased(), forKey: .privilegeName)
        try container.encode(privilegeId ?? 0, forKey: .privilegeId)
        // Redfish has no call-in or link authentication; an account also usable over IPMI says so in AccountTypes.
        try container.encode(false, forKey: .callin)
        try container.encode(false, forKey: .linkAuth)
        try container.encode(accountTypes.contains("IPMI"), forKey: .ipmiMsg)
    }
}

/// The seed's IPMI privilege levels and the Redfish roles that grant the same.
public enum RedfishRoles {
    static let roles: [Int: String] = [2: "ReadOnly", 3: "Operator", 4: "Administrator", 15: "NoAccess"]
    static let privilegeNames: [Int: String] = [2: "USER", 3: "OPERATOR", 4: "ADMINISTRATOR", 15: "NO ACCESS"]

    /// The role for a seed privilege level; 400 naming `field` for a level Redfish has no role for.
    public static func role(forPrivilege level: Int, field: String = "privilege") throws -> String {
        guard let role = roles[level] else { throw AgentError.invalidField(field, "must be 2 (USER: ReadOnly), 3 (OPERATOR), 4 (ADMINISTRATOR) or 15 (NO ACCESS)") }
        return role
    }

    static func privilege(forRole role: String) -> Int? { roles.first { $0.value == role }?.key }
}

/// Which account a user operation means: a slot (account id) or a user name.
public struct RedfishAccountReference: Sendable, Equatable {
    public var slot: Int?
    public var username: String?

    public init(slot: Int?, username: String?) {
        self.slot = slot
        self.username = username
    }
}

/// The seed's BMC user operations over `AccountService/Accounts`, each change read back (a password cannot be read:
/// the BMC's acceptance is its proof). Services that create accounts with POST get one; slot-based firmware (iDRAC,
/// Supermicro), which answers POST with 405, gets its first free slot filled. Password rules the BMC enforces come back
/// as 400s naming `password` and the BMC's words.
public struct RedfishAccountManager: Sendable {
    let service: RedfishService

    public init(service: RedfishService) {
        self.service = service
    }

    var client: RedfishClient { service.client }

    /// Runs one account change alone among this BMC's account changes.
    func exclusively<Value: Sendable>(_ connection: RedfishConnection, _ body: () async throws -> Value) async throws -> Value {
        try await client.accountChanges.withLock(connection.address, body)
    }

    /// Accounts with a user name.
    public func listUsers(_ connection: RedfishConnection) async throws -> [RedfishAccount] {
        try await allAccounts(connection).filter { !$0.name.isEmpty }
    }

    public func createUser(username: String, dontFailIfUserExists: Bool, _ connection: RedfishConnection) async throws -> JSONValue {
        let name = try Self.validUsername(username, field: "username")
        return try await exclusively(connection) { try await createUserAlone(name: name, dontFailIfUserExists: dontFailIfUserExists, connection) }
    }

    private func createUserAlone(name: String, dontFailIfUserExists: Bool, _ connection: RedfishConnection) async throws -> JSONValue {
        let accounts = try await allAccounts(connection)
        if let existing = accounts.first(where: { $0.name == name }) {
            guard dontFailIfUserExists else { throw Self.userExists(name, existing) }
            return ["slot": Self.slotValue(existing), "created": false]
        }
        // Redfish accounts need a password: the account is made disabled with a random one nobody learns, until
        // setUserPassword and enableUser.
        let account = try await create(name: name, password: Secret(Self.randomPassword()), role: "ReadOnly", enabled: false, in: accounts, connection)
        return ["slot": Self.slotValue(account), "created": true, "enabled": false,
                "note": "Redfish accounts need a password: created disabled with a random one; set one with setUserPassword, then enableUser"]
    }

    public func createUserWithPasswordAndPrivilege(
        username: String, password: Secret, privilege: Int, dontFailIfUserExists: Bool, dontFailIfPasswordChangeFailed: Bool,
        dontChangePasswordIfUserExists: Bool, _ connection: RedfishConnection
    ) async throws -> JSONValue {
        let name = try Self.validUsername(username, field: "username")
        let role = try RedfishRoles.role(forPrivilege: privilege)
        try await checkPasswordLength(password, connection)
        return try await exclusively(connection) {
            try await createWithPasswordAlone(
                name: name, password: password, role: role, dontFailIfUserExists: dontFailIfUserExists,
                dontFailIfPasswordChangeFailed: dontFailIfPasswordChangeFailed, dontChangePasswordIfUserExists: dontChangePasswordIfUserExists, connection)
        }
    }

    private func createWithPasswordAlone(
        name: String, password: Secret, role: String, dontFailIfUserExists: Bool, dontFailIfPasswordChangeFailed: Bool,
        dontChangePasswordIfUserExists: Bool, _ connection: RedfishConnection
    ) async throws -> JSONValue {
        let accounts = try await allAccounts(connection)
        guard let existing = accounts.first(where: { $0.name == name }) else {
            let account = try await create(name: name, password: password, role: role, enabled: true, in: accounts, connection)
            return ["slot": Self.slotValue(account), "created": true, "passwordChanged": true, "warnings": []]
        }
        guard dontFailIfUserExists else { throw Self.userExists(name, existing) }
        var warnings: [JSONValue] = []
        var passwordChanged = false
        if !dontChangePasswordIfUserExists {
            do {
                try await change(existing, ["Password": .string(password.revealed)], connection)
                passwordChanged = true
            } catch let error where !(error is CancellationError) {
                guard dontFailIfPasswordChangeFailed else { throw error }
                warnings.append(.string("password change failed: \(AgentError.from(error).message)"))
            }
        }
        try await change(existing, ["RoleId": .string(role), "Enabled": true], connection)
        return ["slot": Self.slotValue(existing), "created": false, "passwordChanged": .bool(passwordChanged), "warnings": .array(warnings)]
    }

    public func updateUser(slot: Int, username: String?, password: Secret?, privilege: Int, _ connection: RedfishConnection) async throws -> JSONValue {
        try await exclusively(connection) { try await updateUserAlone(slot: slot, username: username, password: password, privilege: privilege, connection) }
    }

    private func updateUserAlone(slot: Int, username: String?, password: Secret?, privilege: Int, _ connection: RedfishConnection) async throws -> JSONValue {
        let account = try await resolve(RedfishAccountReference(slot: slot, username: nil), connection)
        var changes: [String: JSONValue] = ["RoleId": .string(try RedfishRoles.role(forPrivilege: privilege))]
        if let username { changes["UserName"] = .string(try Self.validUsername(username, field: "username")) }
        if let password {
            try await checkPasswordLength(password, connection)
            changes["Password"] = .string(password.revealed)
        }
        try await change(account, changes, connection)
        return ["slot": Self.slotValue(account), "updated": true]
    }

    public func deleteUser(_ reference: RedfishAccountReference, _ connection: RedfishConnection) async throws -> JSONValue {
        try await exclusively(connection) { try await deleteUserAlone(reference, connection) }
    }

    private func deleteUserAlone(_ reference: RedfishAccountReference, _ connection: RedfishConnection) async throws -> JSONValue {
        let account = try await resolve(reference, connection)
        do {
            _ = try await client.request(RedfishHTTPRequest(method: .DELETE, path: account.path), on: connection)
            let remaining = try await allAccounts(connection)
            guard !remaining.contains(where: { $0.path == account.path && !$0.name.isEmpty }) else {
                throw RedfishError.verificationFailed(bmc: connection.address, expected: "account \(account.accountId) gone", actual: "still listed")
            }
        } catch RedfishError.refused(_, let status, _) where status == 405 || status == 501 {
            // Slot-based firmware: a deleted user is an empty, disabled slot.
            try await change(account, ["UserName": "", "Enabled": false], connection)
        }
        return ["slot": Self.slotValue(account), "deleted": true]
    }

    public func setEnabled(_ enabled: Bool, _ reference: RedfishAccountReference, _ connection: RedfishConnection) async throws -> JSONValue {
        try await exclusively(connection) {
            let account = try await resolve(reference, connection)
            try await change(account, ["Enabled": .bool(enabled)], connection)
            return ["slot": Self.slotValue(account), "enabled": .bool(enabled)]
        }
    }

    public func setPassword(_ password: Secret, _ reference: RedfishAccountReference, _ connection: RedfishConnection) async throws -> JSONValue {
        try await checkPasswordLength(password, connection)
        return try await exclusively(connection) {
            let account = try await resolve(reference, connection)
            try await change(account, ["Password": .string(password.revealed)], connection)
            return ["slot": Self.slotValue(account), "passwordChanged": true]
        }
    }

    public func setPrivilege(_ privilege: Int, _ reference: RedfishAccountReference, _ connection: RedfishConnection) async throws -> JSONValue {
        let role = try RedfishRoles.role(forPrivilege: privilege)
        return try await exclusively(connection) {
            let account = try await resolve(reference, connection)
            try await change(account, ["RoleId": .string(role)], connection)
            return ["slot": Self.slotValue(account), "privilegeId": .integer(Int64(privilege)), "roleId": .string(role)]
        }
    }

    // MARK: Steps

    func accountsPath(_ connection: RedfishConnection) async throws -> String {
        let root = ServiceRoot(try await service.document(RedfishPath.root, connection))
        guard let accountService = root.accountService, let accounts = try await service.document(accountService, connection).link("Accounts") else {
            throw RedfishError.unsupported(bmc: connection.address, detail: "the service offers no AccountService accounts")
        }
        return accounts
    }

    func allAccounts(_ connection: RedfishConnection) async throws -> [RedfishAccount] {
        var accounts: [RedfishAccount] = []
        for member in try await service.document(try await accountsPath(connection), connection).links().prefix(RedfishService.maximumMembers) {
            accounts.append(RedfishAccount(path: member, document: try await service.document(member, connection)))
        }
        return accounts
    }

    func resolve(_ reference: RedfishAccountReference, _ connection: RedfishConnection) async throws -> RedfishAccount {
        let accounts = try await allAccounts(connection)
        if let slot = reference.slot {
            guard let account = accounts.first(where: { $0.slot == slot }) else { throw AgentError.notFound("BMC user slot", String(slot)) }
            if let name = reference.username, account.name != name {
                throw AgentError.invalidField("username", "slot \(slot) holds \(account.name.isEmpty ? "no user" : account.name), not \(name)")
            }
            return account
        }
        guard let name = reference.username else { throw AgentError.missingField("slot") }
        guard let account = accounts.first(where: { $0.name == name }) else { throw AgentError.notFound("BMC user", name) }
        return account
    }

    /// POST to the collection; a 405 means slot-based firmware, whose first free slot (never slot 1, the reserved one
    /// on iDRAC and Supermicro) is filled instead. The account is read back.
    func create(name: String, password: Secret, role: String, enabled: Bool, in accounts: [RedfishAccount], _ connection: RedfishConnection) async throws
        -> RedfishAccount
    {
        let collection = try await accountsPath(connection)
        let body: JSONValue = ["UserName": .string(name), "Password": .string(password.revealed), "RoleId": .string(role), "Enabled": .bool(enabled)]
        do {
            let answer = try await passwordRules { try await client.post(collection, body: body, on: connection) }
            let created = answer.header("Location").flatMap(RedfishClient.locationPath) ?? answer.body?["@odata.id"]?.stringValue.flatMap(RedfishPath.checked)
            let account: RedfishAccount
            if let created {
                account = RedfishAccount(path: created, document: try await service.document(created, connection))
            } else {
                guard let found = try await allAccounts(connection).first(where: { $0.name == name }) else {
                    throw RedfishError.verificationFailed(bmc: connection.address, expected: "account \(name)", actual: "not listed")
                }
                account = found
            }
            try Self.check(account, name: name, role: role, enabled: enabled, connection)
            return account
        } catch RedfishError.refused(_, let status, _) where status == 405 || status == 501 {
            guard let slot = accounts.first(where: { $0.name.isEmpty && $0.accountId != "1" }) else {
                throw AgentError.conflict("no_free_slot", "BMC \(connection.address) has no free user slot")
            }
            try await change(slot, body.objectMembers, connection)
            return RedfishAccount(path: slot.path, document: try await service.document(slot.path, connection))
        }
    }

    /// PATCHes `changes` onto the account and reads back every field but the password.
    func change(_ account: RedfishAccount, _ changes: [String: JSONValue], _ connection: RedfishConnection) async throws {
        let etag = try await client.get(account.path, on: connection).header("ETag")
        _ = try await passwordRules { try await client.patch(account.path, body: .object(changes), etag: etag, on: connection) }
        let after = RedfishAccount(path: account.path, document: try await service.document(account.path, connection))
        try Self.check(after, name: changes["UserName"]?.stringValue, role: changes["RoleId"]?.stringValue, enabled: changes["Enabled"]?.boolValue, connection)
    }

    static func check(_ account: RedfishAccount, name: String?, role: String?, enabled: Bool?, _ connection: RedfishConnection) throws {
        if let name, account.name != name { throw RedfishError.verificationFailed(bmc: connection.address, expected: "UserName \(name)", actual: account.name) }
        if let role, account.roleId != role {
            throw RedfishError.verificationFailed(bmc: connection.address, expected: "RoleId \(role)", actual: account.roleId ?? "none")
        }
        if let enabled, account.enabled != enabled {
            throw RedfishError.verificationFailed(bmc: connection.address, expected: "Enabled \(enabled)", actual: "Enabled \(account.enabled)")
        }
    }

    /// A 400 whose message speaks of the password is the BMC's password policy: a 400 naming `password` and the rule.
    func passwordRules<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch RedfishError.refused(let bmc, 400, let message) where message.localizedCaseInsensitiveContains("password") {
            throw AgentError.invalidField("password", "BMC \(bmc) refused it: \(message)")
        }
    }

    /// The service's MinPasswordLength and MaxPasswordLength, checked before anything is sent.
    func checkPasswordLength(_ password: Secret, _ connection: RedfishConnection) async throws {
        let root = ServiceRoot(try await service.document(RedfishPath.root, connection))
        guard let path = root.accountService else { return }
        let accountService = try await service.document(path, connection)
        let length = password.revealed.count
        if let minimum = accountService["MinPasswordLength"]?.intValue, length < minimum {
            throw AgentError.invalidField("password", "must be at least \(minimum) characters (the BMC's MinPasswordLength)")
        }
        if let maximum = accountService["MaxPasswordLength"]?.intValue, length > maximum {
            throw AgentError.invalidField("password", "must be at most \(maximum) characters (the BMC's MaxPasswordLength)")
        }
        guard !password.revealed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AgentError.invalidField("password", "must not contain control characters")
        }
    }

    static func validUsername(_ name: String, field: String) throws -> String {
        guard (1...64).contains(name.utf8.count), !name.contains(":"),
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
        else { throw AgentError.invalidField(field, "1 to 64 bytes, no spaces, colons or control characters") }
        return name
    }

    static func userExists(_ name: String, _ account: RedfishAccount) -> AgentError {
        AgentError.conflict("user_exists", "user \(name) already exists in slot \(account.accountId)", details: ["slot": slotValue(account)])
    }

    static func slotValue(_ account: RedfishAccount) -> JSONValue { account.slot.map { .integer(Int64($0)) } ?? .string(account.accountId) }

    /// 16 characters from four classes, so common length (8 to 20) and complexity rules accept it.
    static func randomPassword() -> String {
        let classes = ["ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnpqrstuvwxyz", "23456789", "-_.+"].map(Array.init)
        var characters = classes.map { $0.randomElement()! }
        let all = classes.flatMap { $0 }
        while characters.count < 16 { characters.append(all.randomElement()!) }
        return String(characters.shuffled())
    }
}

extension JSONValue {
    /// The members of an object, or none.
    var objectMembers: [String: JSONValue] {
        if case .object(let members) = self { return members }
        return [:]
    }
}
