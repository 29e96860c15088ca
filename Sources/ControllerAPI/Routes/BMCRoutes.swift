import AgentCore
import Foundation
import Hummingbird
import IPMI
import Power
import Redfish

/// BMC users (`POST /v1/bmc/users/{op}`, the seed's operations and fields) and inventory reads
/// (`POST /v1/bmc/sensors|sel|fru|lan` over `ipmi`, `POST /v1/bmc/inventory` over `redfish`).
struct BMCRoutes {
    let runtime: AgentRuntime

    enum UserOperation: String, CaseIterable {
        case listUsers, createUser, createUserWithPasswordAndPrivilege, updateUser, deleteUser
        case enableUser, disableUser, setUserPassword, setUserPrivilege, channelSetAccess
    }

    /// Every field any user operation takes; each operation checks the ones it needs.
    struct UserRequest: Decodable {
        let connection: ConnectionDescriptor
        let channel: Int
        let slot: Int?
        let username: String?
        let password: Secret?
        let privilege: Int?
        let channelAccessSettings: String?
        let accessSettings: String?
        let dontFailIfUserExists: Bool
        let dontFailIfPasswordChangeFailed: Bool
        let dontChangePasswordIfUserExists: Bool
        /// The seed's default is true.
        let withoutSlotCheck: Bool

        enum CodingKeys: String, CodingKey {
            case connection, channel, slot, username, password, privilege, channelAccessSettings, accessSettings
            case dontFailIfUserExists, dontFailIfPasswordChangeFailed, dontChangePasswordIfUserExists, withoutSlotCheck
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            connection = try container.decode(ConnectionDescriptor.self, forKey: .connection)
            channel = try container.decodeTolerantIntIfPresent(forKey: .channel) ?? 1
            guard (0...15).contains(channel) else { throw container.invalid(.channel, "must be from 0 to 15") }
            slot = try container.decodeTolerantIntIfPresent(forKey: .slot)
            username = try container.decodeTolerantStringIfPresent(forKey: .username)
            password = try container.decodeIfPresent(Secret.self, forKey: .password)
            privilege = try container.decodeTolerantIntIfPresent(forKey: .privilege)
            channelAccessSettings = try container.decodeTolerantStringIfPresent(forKey: .channelAccessSettings)
            accessSettings = try container.decodeTolerantStringIfPresent(forKey: .accessSettings)
            dontFailIfUserExists = try container.decodeTolerantBoolIfPresent(forKey: .dontFailIfUserExists) ?? false
            dontFailIfPasswordChangeFailed = try container.decodeTolerantBoolIfPresent(forKey: .dontFailIfPasswordChangeFailed) ?? false
            dontChangePasswordIfUserExists = try container.decodeTolerantBoolIfPresent(forKey: .dontChangePasswordIfUserExists) ?? false
            withoutSlotCheck = try container.decodeTolerantBoolIfPresent(forKey: .withoutSlotCheck) ?? true
        }

        var user: BMCUserReference { BMCUserReference(slot: slot, username: username) }

        func required<Value>(_ value: Value?, _ field: String) throws -> Value {
            guard let value else { throw AgentError.missingField(field) }
            return value
        }

        func access(_ text: String?, field: String) throws -> ChannelAccessSettings? {
            try text.flatMap { $0.isEmpty ? nil : try ChannelAccessSettings(parsing: $0, field: field) }
        }

        /// Refuses requests that name neither a slot nor a user.
        func requireUser() throws {
            if slot == nil, username == nil { throw AgentError.missingField("slot") }
        }
    }

    struct InventoryRequest: Decodable {
        let connection: ConnectionDescriptor
        let channel: Int
        let action: String

        enum CodingKeys: String, CodingKey { case connection, channel, action }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            connection = try container.decode(ConnectionDescriptor.self, forKey: .connection)
            channel = try container.decodeTolerantIntIfPresent(forKey: .channel) ?? 1
            action = try container.decodeTolerantStringIfPresent(forKey: .action) ?? "list"
        }
    }

    /// `POST /v1/bmc/virtual-media/{insert|eject|status}`: the connection, the registered ISO to mount, and whether the
    /// next boot goes to it (default true).
    struct VirtualMediaRequest: Decodable {
        let connection: ConnectionDescriptor
        let isoId: String?
        let bootOnce: Bool

        enum CodingKeys: String, CodingKey { case connection, isoId, bootOnce }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            connection = try container.decode(ConnectionDescriptor.self, forKey: .connection)
            isoId = try container.decodeTolerantStringIfPresent(forKey: .isoId)
            bootOnce = try container.decodeTolerantBoolIfPresent(forKey: .bootOnce) ?? true
        }
    }

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        router.post("/v1/bmc/users/{op}") { request, context in
            let name = try context.pathParameter("op")
            guard let operation = UserOperation(rawValue: name) else {
                throw AgentError.invalidField("op", "unknown BMC user operation \(name) (one of \(UserOperation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let payload = try await RequestPayload.read(request, limit: limit)
            let body = try payload.decode(UserRequest.self)
            if body.connection.type == "redfish" {
                let connection = try redfishConnection(body.connection, purpose: "BMC users")
                let accounts = RedfishAccountManager(service: runtime.redfish)
                if operation == .listUsers { return try Envelope.success(encoding: try await accounts.listUsers(connection)) }
                let work = try redfishUserWork(operation, body, connection, accounts)
                return try await JobSubmission(runtime: runtime).respond(
                    to: request, payload: payload, kind: "bmc.users.\(operation.rawValue)", target: "redfish:\(connection.address)",
                    description: "Executed BMC user operation \(operation.rawValue)", rootType: "bmcUsers", rootId: connection.address
                ) { _ in try await work() }
            }
            let connection = try ipmiConnection(body.connection)
            let users = runtime.bmcUsers
            if operation == .listUsers {
                return try Envelope.success(encoding: try await users.listUsers(channel: body.channel, connection))
            }
            let work = try userWork(operation, body, connection, users)
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "bmc.users.\(operation.rawValue)", target: "ipmi:\(connection.address)",
                description: "Executed BMC user operation \(operation.rawValue)", rootType: "bmcUsers", rootId: connection.address
            ) { _ in try await work() }
        }
        router.post("/v1/bmc/sensors") { request, _ in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(InventoryRequest.self)
            if body.connection.type == "redfish" {
                return try Envelope.success(encoding: try await runtime.redfish.sensors(try redfishConnection(body.connection, purpose: "sensors")))
            }
            return try Envelope.success(encoding: try await runtime.ipmi.sensors(try ipmiConnection(body.connection)))
        }
        router.post("/v1/bmc/fru") { request, _ in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(InventoryRequest.self)
            return try Envelope.success(encoding: try await runtime.ipmi.fru(try ipmiConnection(body.connection)))
        }
        router.post("/v1/bmc/lan") { request, _ in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(InventoryRequest.self)
            let pairs = try await runtime.ipmi.lanConfiguration(channel: body.channel, try ipmiConnection(body.connection))
            return try Envelope.success(encoding: pairs)
        }
        router.post("/v1/bmc/inventory") { request, _ in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(InventoryRequest.self)
            let connection = try redfishConnection(body.connection, purpose: "the inventory (an ipmi BMC answers /v1/bmc/fru)")
            return try Envelope.success(encoding: try await runtime.redfish.inventory(connection))
        }
        router.post("/v1/bmc/virtual-media/{action}") { request, context in
            let action = try context.pathParameter("action")
            let payload = try await RequestPayload.read(request, limit: limit)
            let body = try payload.decode(VirtualMediaRequest.self)
            let connection = try redfishConnection(body.connection, purpose: "virtual media")
            let redfish = runtime.redfish
            switch action {
            case "status":
                return try Envelope.success(encoding: try await redfish.opticalMedia(connection))
            case "insert":
                guard let isoId = body.isoId else { throw AgentError.missingField("isoId") }
                guard let image = try await runtime.isos.image(isoId) else { throw AgentError.notFound("ISO", isoId) }
                guard image.state == .ready else {
                    throw AgentError.conflict("iso_not_ready", "ISO \(isoId) is \(image.state.rawValue)\(image.error.map { ": \($0)" } ?? "") (PUT /v1/isos/\(isoId) caches it)")
                }
                let url = image.servedURL(bootBaseURL: runtime.configuration.bootBaseURL)
                let bootOnce = body.bootOnce
                return try await JobSubmission(runtime: runtime).respond(
                    to: request, payload: payload, kind: "bmc.virtualMedia.insert", target: "redfish:\(connection.address)",
                    description: "Mounted ISO \(image.name) as virtual media", rootType: "virtualMedia", rootId: connection.address
                ) { _ in try JSONValue(encoding: try await redfish.insertMedia(imageURL: url, bootOnce: bootOnce, connection)) }
            case "eject":
                return try await JobSubmission(runtime: runtime).respond(
                    to: request, payload: payload, kind: "bmc.virtualMedia.eject", target: "redfish:\(connection.address)",
                    description: "Ejected virtual media", rootType: "virtualMedia", rootId: connection.address
                ) { _ in try JSONValue(encoding: try await redfish.ejectMedia(connection)) }
            default:
                throw AgentError.invalidField("action", "must be insert, eject or status")
            }
        }
        router.post("/v1/bmc/sel") { request, _ in
            let payload = try await RequestPayload.read(request, limit: limit)
            let body = try payload.decode(InventoryRequest.self)
            if body.connection.type == "redfish" {
                let connection = try redfishConnection(body.connection, purpose: "the event log")
                let redfish = runtime.redfish
                switch body.action {
                case "list":
                    return try Envelope.success(encoding: try await redfish.logEntries(connection))
                case "clear":
                    return try await JobSubmission(runtime: runtime).respond(
                        to: request, payload: payload, kind: "bmc.sel.clear", target: "redfish:\(connection.address)",
                        description: "Cleared the system event log", rootType: "bmcSel", rootId: connection.address
                    ) { _ in .string(try await redfish.clearLog(connection)) }
                default:
                    throw AgentError.invalidField("action", "must be list or clear")
                }
            }
            let connection = try ipmiConnection(body.connection)
            switch body.action {
            case "list":
                return try Envelope.success(encoding: try await runtime.ipmi.selEntries(connection))
            case "clear":
                let ipmi = runtime.ipmi
                return try await JobSubmission(runtime: runtime).respond(
                    to: request, payload: payload, kind: "bmc.sel.clear", target: "ipmi:\(connection.address)",
                    description: "Cleared the system event log", rootType: "bmcSel", rootId: connection.address
                ) { _ in .string(try await ipmi.clearSEL(connection)) }
            default:
                throw AgentError.invalidField("action", "must be list or clear")
            }
        }
    }

    /// The validated work of a mutating user operation; validation errors surface before a job exists.
    private func userWork(
        _ operation: UserOperation, _ body: UserRequest, _ connection: IPMIConnection, _ users: BMCUserManager
    ) throws -> @Sendable () async throws -> JSONValue {
        let channel = body.channel
        switch operation {
        case .listUsers:
            return { try JSONValue(encoding: try await users.listUsers(channel: channel, connection)) }
        case .createUser:
            let username = try body.required(body.username, "username")
            let access = try body.access(body.channelAccessSettings, field: "channelAccessSettings")
            let tolerateExisting = body.dontFailIfUserExists
            return {
                try await users.createUser(username: username, access: access, dontFailIfUserExists: tolerateExisting, channel: channel, connection)
            }
        case .createUserWithPasswordAndPrivilege:
            let username = try body.required(body.username, "username")
            let password = try body.required(body.password, "password")
            let privilege = try body.required(body.privilege, "privilege")
            let access = try body.access(body.channelAccessSettings, field: "channelAccessSettings")
            let request = body
            return {
                try await users.createUserWithPasswordAndPrivilege(
                    username: username, password: password, privilege: privilege, access: access,
                    dontFailIfUserExists: request.dontFailIfUserExists, dontFailIfPasswordChangeFailed: request.dontFailIfPasswordChangeFailed,
                    dontChangePasswordIfUserExists: request.dontChangePasswordIfUserExists, channel: channel, connection)
            }
        case .updateUser:
            let slot = try body.required(body.slot, "slot")
            let privilege = try body.required(body.privilege, "privilege")
            let access = try body.access(body.channelAccessSettings, field: "channelAccessSettings")
            let username = body.username
            let password = body.password
            try BMCUserManager.validateUpdate(slot: slot, username: username, password: password, privilege: privilege)
            return {
                try await users.updateUser(
                    slot: slot, username: username, password: password, privilege: privilege, access: access, channel: channel, connection)
            }
        case .deleteUser:
            try body.requireUser()
            let user = body.user
            return { try await users.deleteUser(user, channel: channel, connection) }
        case .enableUser, .disableUser:
            try body.requireUser()
            let user = body.user
            let enable = operation == .enableUser
            let skipCheck = body.withoutSlotCheck
            return { try await users.setEnabled(enable, user, withoutSlotCheck: skipCheck, channel: channel, connection) }
        case .setUserPassword:
            try body.requireUser()
            let password = try body.required(body.password, "password")
            let user = body.user
            let skipCheck = body.withoutSlotCheck
            return { try await users.setPassword(password, user, withoutSlotCheck: skipCheck, channel: channel, connection) }
        case .setUserPrivilege:
            try body.requireUser()
            let privilege = try body.required(body.privilege, "privilege")
            let user = body.user
            let skipCheck = body.withoutSlotCheck
            return { try await users.setPrivilege(privilege, user, withoutSlotCheck: skipCheck, channel: channel, connection) }
        case .channelSetAccess:
            try body.requireUser()
            let access = try body.required(try body.access(body.accessSettings, field: "accessSettings"), "accessSettings")
            let user = body.user
            let skipCheck = body.withoutSlotCheck
            return { try await users.channelSetAccess(access, user, withoutSlotCheck: skipCheck, channel: channel, connection) }
        }
    }

    func redfishConnection(_ descriptor: ConnectionDescriptor, purpose: String) throws -> RedfishConnection {
        guard descriptor.type == "redfish" else { throw AgentError.unsupported("\(purpose) needs a redfish connection, not \(descriptor.type)") }
        return try descriptor.meta.decode(as: RedfishConnection.self, at: "connection.meta")
    }

    private func ipmiConnection(_ descriptor: ConnectionDescriptor) throws -> IPMIConnection {
        guard descriptor.type == "ipmi" else {
            throw AgentError.unsupported("this BMC operation needs an ipmi connection, not \(descriptor.type)")
        }
        return try descriptor.meta.decode(as: IPMIConnection.self, at: "connection.meta")
    }
}
