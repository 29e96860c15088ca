import AgentCore
import Foundation
import Hummingbird
import Power
import Providers

/// Provider calls beyond power (which goes through POST /v1/power/{method}): reinstall jobs, templates, server
/// lists, status, console, traffic, reverse DNS and the support table. Credentials travel in the body's
/// `connection`, as for power calls, so every call is a POST except the credential-free support table.
struct ProviderRoutes {
    let runtime: AgentRuntime

    /// Operations of `POST /v1/providers/{type}/{operation}`.
    enum Operation: String, CaseIterable {
        case servers, templates, status, console, traffic, rdns, isos
        case recovery, insertIso = "insert-iso", ejectIso = "eject-iso", passwordReset = "password-reset"

        var needsServer: Bool { self != .servers && self != .templates }
    }

    struct CallBody: Decodable {
        let connection: ConnectionDescriptor
        let ip: String?
        let hostname: String?
        /// recovery: the provider's recovery image (IONOS recovery appliance id).
        let image: String?
        /// insert-iso: an id from `isos`.
        let isoId: String?
        /// password-reset: the new root password; without it the provider generates one.
        let password: Secret?
        let serverId: String?

        enum CodingKeys: String, CodingKey { case connection, ip, hostname, image, isoId, password, serverId }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            connection = try container.decode(ConnectionDescriptor.self, forKey: .connection)
            ip = try container.decodeTolerantStringIfPresent(forKey: .ip)
            hostname = try container.decodeTolerantStringIfPresent(forKey: .hostname)
            image = try container.decodeTolerantStringIfPresent(forKey: .image)
            isoId = try container.decodeTolerantStringIfPresent(forKey: .isoId)
            password = try container.decodeIfPresent(Secret.self, forKey: .password)
            serverId = try container.decodeTolerantStringIfPresent(forKey: .serverId)
            for (value, key) in [(image, CodingKeys.image), (isoId, .isoId), (serverId, .serverId)] {
                if let value {
                    guard !value.isEmpty, value.count <= 200 else { throw container.invalid(key, "must be 1 to 200 characters") }
                    try Validation.noControlCharacters(value, field: key.rawValue)
                }
            }
            if let password {
                guard (6...64).contains(password.revealed.count) else { throw container.invalid(.password, "must be 6 to 64 characters") }
                try Validation.noControlCharacters(password.revealed, field: "password")
            }
        }
    }

    /// `{"connection": {...}, "template": "...", "hostname": "...", "sshKey": "...", "password": "...", "serverId": 61}`
    struct InstallationBody: Decodable {
        let connection: ConnectionDescriptor
        let template: String
        let hostname: String?
        let sshKey: String?
        let password: Secret?
        let serverId: String?

        enum CodingKeys: String, CodingKey { case connection, template, hostname, sshKey, password, serverId }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            connection = try container.decode(ConnectionDescriptor.self, forKey: .connection)
            template = try container.decode(String.self, forKey: .template)
            hostname = try container.decodeIfPresent(String.self, forKey: .hostname)
            sshKey = try container.decodeIfPresent(String.self, forKey: .sshKey)
            password = try container.decodeIfPresent(Secret.self, forKey: .password)
            serverId = try container.decodeTolerantStringIfPresent(forKey: .serverId)
        }

        func request() throws -> ProviderReinstallRequest {
            guard !template.trimmingCharacters(in: .whitespaces).isEmpty else { throw AgentError.invalidField("template", "must not be empty") }
            try Validation.noControlCharacters(template, field: "template")
            if let hostname, !Validation.isHostName(hostname) || hostname.count < 4 {
                throw AgentError.invalidField("hostname", "not a host name of at least 4 characters")
            }
            if let sshKey {
                let parts = sshKey.split(separator: " ")
                guard parts.count >= 2, parts[0].hasPrefix("ssh-") || parts[0].hasPrefix("ecdsa-") || parts[0].hasPrefix("sk-"),
                    !sshKey.contains(where: \.isNewline)
                else { throw AgentError.invalidField("sshKey", "one OpenSSH public key line (ssh-ed25519 AAAA...)") }
            }
            if let password, !(8...64).contains(password.revealed.count) {
                throw AgentError.invalidField("password", "must be 8 to 64 characters")
            }
            return ProviderReinstallRequest(template: template, hostname: hostname, sshKey: sshKey, password: password)
        }
    }

    static func connection(_ descriptor: ConnectionDescriptor, expected: ProviderType? = nil, requireServer: Bool = true) throws -> ProviderConnection {
        let type = try ProviderType(field: "connection.type", descriptor.type)
        if let expected, type != expected {
            throw AgentError.invalidField("connection.type", "is \(type.rawValue) but the path names \(expected.rawValue)")
        }
        return try ProviderConnection(type: type, meta: descriptor.meta, path: "connection.meta", requireServer: requireServer)
    }

    /// The support table for every provider (and Venocix dedicated servers).
    static var supportTable: JSONValue {
        JSONValue.object(Dictionary(uniqueKeysWithValues: ProviderSupportTable.rows.map { row in
            (row.name, JSONValue.object(row.support.mapValues { .string($0.rawValue) }))
        }))
    }

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        let providers = runtime.providers
        router.get("/v1/providers") { _, _ in
            Envelope.success(Self.supportTable)
        }
        router.post("/v1/providers/{type}/{operation}") { request, context in
            let type = try ProviderType(field: "type", try context.pathParameter("type"))
            let name = try context.pathParameter("operation")
            guard let operation = Operation(rawValue: name) else {
                throw AgentError.invalidField("operation", "unknown provider operation \(name) (one of \(Operation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let payload = try await RequestPayload.read(request, limit: limit)
            let body = try payload.decode(CallBody.self)
            let connection = try Self.connection(body.connection, expected: type, requireServer: operation.needsServer)
            let driver = await providers.driver(for: connection)
            switch operation {
            case .servers: return Envelope.success(try JSONValue(encoding: try await driver.listServers()))
            case .templates: return Envelope.success(try JSONValue(encoding: try await driver.templates()))
            case .status:
                let status = try await driver.status(serverId: connection.serverId)
                return Envelope.success(["powerState": .string(status.state.seedWord.rawValue), "state": .string(status.state.rawValue),
                                         "providerState": .string(status.providerState), "percent": status.percent.map { .integer(Int64($0)) } ?? .null])
            case .console: return Envelope.success(try await driver.console(serverId: connection.serverId).json)
            case .traffic: return Envelope.success(try JSONValue(encoding: try await driver.traffic(serverId: connection.serverId)))
            case .rdns:
                guard let ip = body.ip else { throw AgentError.missingField("ip") }
                guard let address = IPAddress(ip), address.isIPv4 else { throw AgentError.invalidField("ip", "an IPv4 address") }
                guard let hostname = body.hostname else { throw AgentError.missingField("hostname") }
                guard Validation.isHostName(hostname) else { throw AgentError.invalidField("hostname", "not a host name") }
                try await driver.setReverseDNS(serverId: connection.serverId, ip: ip, hostname: hostname)
                return Envelope.success(["ip": .string(ip), "hostname": .string(hostname)])
            case .isos: return Envelope.success(try JSONValue(encoding: try await driver.isoImages(serverId: connection.serverId)))
            case .passwordReset:
                let generated = try await driver.resetRootPassword(serverId: connection.serverId, password: body.password)
                try await runtime.actionLog.append(ActionLogEntry(
                    rootType: "servers", rootId: body.serverId ?? "\(type.rawValue):\(connection.serverId)", description: "Reset the root password"))
                // A generated password is the answer's whole point: handed over here once, never stored or logged.
                return Envelope.success(["passwordSet": true, "password": generated.map { .string($0.revealed) } ?? .null])
            case .recovery, .insertIso, .ejectIso:
                let target = "\(type.rawValue):\(connection.serverId)"
                let image = body.image
                let isoId = body.isoId
                if operation == .recovery, image == nil { throw AgentError.missingField("image") }
                if operation == .insertIso, isoId == nil { throw AgentError.missingField("isoId") }
                let description = switch operation {
                case .recovery: "Restarted \(target) into recovery"
                case .insertIso: "Inserted an ISO into \(target)"
                default: "Ejected the ISO of \(target)"
                }
                return try await JobSubmission(runtime: runtime).respond(
                    to: request, payload: payload, kind: "provider.\(operation.rawValue)", target: target, description: description,
                    rootType: "servers", rootId: body.serverId ?? target
                ) { _ in
                    switch operation {
                    case .recovery: try await providers.bootRecovery(image: image ?? "", connection)
                    case .insertIso: try await providers.setISO(isoId, connection)
                    default: try await providers.setISO(nil, connection)
                    }
                }
            }
        }
        router.post("/v1/provider-installations") { request, _ in
            let payload = try await RequestPayload.read(request, limit: limit)
            let body = try payload.decode(InstallationBody.self)
            let reinstall = try body.request()
            let connection = try Self.connection(body.connection)
            let target = "\(connection.account.type.rawValue):\(connection.serverId)"
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "provider.reinstall", target: target,
                description: "Reinstalled \(target) with \(reinstall.template)", rootType: "servers", rootId: body.serverId ?? target
            ) { context in
                let result = try await providers.reinstall(reinstall, connection) { message, fraction in
                    await context.report(progress: min(max(fraction ?? 0, 0), 0.99), message: message)
                }
                var details = result.details
                if let password = result.generatedPassword {
                    // Stored and sent to the controller masked; the caller's first read of the job gets it in clear.
                    details["password"] = .string(Secret.mask)
                    context.handOver("password", password)
                }
                return .object(details)
            }
        }
    }
}
