import AgentCore
import Redfish

extension BMCRoutes {
    /// The validated work of a mutating user operation on a Redfish BMC; validation errors surface before a job exists.
    /// The IPMI-only settings (channel access) are refused, not ignored.
    func redfishUserWork(
        _ operation: UserOperation, _ body: UserRequest, _ connection: RedfishConnection, _ accounts: RedfishAccountManager
    ) throws -> @Sendable () async throws -> JSONValue {
        for (field, value) in [("channelAccessSettings", body.channelAccessSettings), ("accessSettings", body.accessSettings)]
        where !(value ?? "").isEmpty {
            throw AgentError.unsupported("\(field): IPMI channel access does not exist on a redfish connection", details: ["field": .string(field)])
        }
        let reference = RedfishAccountReference(slot: body.slot, username: body.username)
        switch operation {
        case .listUsers:
            return { try JSONValue(encoding: try await accounts.listUsers(connection)) }
        case .createUser:
            let username = try body.required(body.username, "username")
            let tolerateExisting = body.dontFailIfUserExists
            return { try await accounts.createUser(username: username, dontFailIfUserExists: tolerateExisting, connection) }
        case .createUserWithPasswordAndPrivilege:
            let username = try body.required(body.username, "username")
            let password = try body.required(body.password, "password")
            let privilege = try body.required(body.privilege, "privilege")
            _ = try RedfishRoles.role(forPrivilege: privilege)
            let request = body
            return {
                try await accounts.createUserWithPasswordAndPrivilege(
                    username: username, password: password, privilege: privilege, dontFailIfUserExists: request.dontFailIfUserExists,
                    dontFailIfPasswordChangeFailed: request.dontFailIfPasswordChangeFailed,
                    dontChangePasswordIfUserExists: request.dontChangePasswordIfUserExists, connection)
            }
        case .updateUser:
            let slot = try body.required(body.slot, "slot")
            let privilege = try body.required(body.privilege, "privilege")
            _ = try RedfishRoles.role(forPrivilege: privilege)
            let username = body.username
            let password = body.password
            return { try await accounts.updateUser(slot: slot, username: username, password: password, privilege: privilege, connection) }
        case .deleteUser:
            try body.requireUser()
            return { try await accounts.deleteUser(reference, connection) }
        case .enableUser, .disableUser:
            try body.requireUser()
            let enable = operation == .enableUser
            return { try await accounts.setEnabled(enable, reference, connection) }
        case .setUserPassword:
            try body.requireUser()
            let password = try body.required(body.password, "password")
            return { try await accounts.setPassword(password, reference, connection) }
        case .setUserPrivilege:
            try body.requireUser()
            let privilege = try body.required(body.privilege, "privilege")
            _ = try RedfishRoles.role(forPrivilege: privilege)
            return { try await accounts.setPrivilege(privilege, reference, connection) }
        case .channelSetAccess:
            throw AgentError.unsupported("channelSetAccess: IPMI channel access does not exist on a redfish connection")
        }
    }
}
