import AgentCore
import Foundation
import HTTPTypes
import Hummingbird
import Power

/// `POST /v1/power/{serverPowerMethod}` and the connection checks.
struct PowerRoutes {
    let runtime: AgentRuntime

    /// `{"connection": {...}, "params": ..., "fallback": {...}, "noFailover": false, "serverId": 61}`
    struct PowerRequest: Decodable {
        let connection: ConnectionDescriptor
        let params: JSONValue?
        let fallback: ConnectionDescriptor?
        let noFailover: Bool
        let serverId: String?

        enum CodingKeys: String, CodingKey { case connection, params, fallback, noFailover, serverId }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            connection = try container.decode(ConnectionDescriptor.self, forKey: .connection)
            params = try container.decodeIfPresent(JSONValue.self, forKey: .params)
            fallback = try container.decodeIfPresent(ConnectionDescriptor.self, forKey: .fallback)
            noFailover = try container.decodeTolerantBoolIfPresent(forKey: .noFailover) ?? false
            serverId = try container.decodeTolerantStringIfPresent(forKey: .serverId)
        }
    }

    struct ConnectionRequest: Decodable {
        let connection: ConnectionDescriptor
    }

    /// On a read answered by the fallback: the connection type that answered, and the primary's error code.
    static let viaHeader = HTTPField.Name("X-RackAgent-Via")!
    static let primaryErrorHeader = HTTPField.Name("X-RackAgent-Primary-Error")!

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        router.post("/v1/power/{serverPowerMethod}") { request, context in
            let method = try PowerMethod(path: try context.pathParameter("serverPowerMethod"))
            let payload = try await RequestPayload.read(request, limit: limit)
            let body = try payload.decode(PowerRequest.self)
            let parameters = try PowerParameters(body.params)
            let target = try runtime.power.prepare(method, parameters: parameters, connection: body.connection, fallback: body.fallback)
            try await runtime.power.checkReferences(connection: body.connection, fallback: body.fallback)
            let power = runtime.power
            let outbox = runtime.outbox
            /// Every power state the agent reads or verifies goes to the controller as `power.state`.
            @Sendable func stateEvent(_ result: PowerResult) -> OutboxEvent? {
                guard let state = result.outcome.powerState else { return nil }
                return OutboxEvent(type: "power.state", data: [
                    "serverId": body.serverId.map(JSONValue.string) ?? .null, "target": .string(target), "powerState": .string(state.rawValue),
                    "via": .string(result.failover?.via ?? body.connection.type),
                ])
            }
            guard method.isMutating else {
                let result = try await power.perform(
                    method, parameters: parameters, connection: body.connection, fallback: body.fallback, noFailover: body.noFailover)
                if let event = stateEvent(result) { try await outbox.append(event) }
                // A read the fallback answered has the seed's shape too (the bare state); which connection answered, and
                // why the primary did not, travel in headers (and in the power.state event's `via`).
                var response = Envelope.success(try result.outcome.seedValue())
                if let failover = result.failover {
                    response.headers[Self.viaHeader] = failover.via
                    response.headers[Self.primaryErrorHeader] = failover.primaryError.code
                }
                return response
            }
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "power.\(method.rawValue)", target: target,
                description: "Executed Power Action \(method.rawValue)", rootType: "serverPower", rootId: body.serverId ?? target
            ) { context in
                let result = try await power.perform(
                    method, parameters: parameters, connection: body.connection, fallback: body.fallback, noFailover: body.noFailover)
                let value = try result.jobResult()
                // In the job's final transaction: the controller learns the state exactly when the job says it is done.
                if [.setPowerOn, .setPowerOff, .setPowerSoft, .setPowerReset, .setPowerCycle].contains(method), let event = stateEvent(result) {
                    context.emit(event)
                }
                return value
            }
        }
        router.post("/v1/connections/test") { request, _ in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(ConnectionRequest.self)
            return Envelope.success(.string(try await runtime.power.testConnection(body.connection)))
        }
        router.post("/v1/connections/supported-actions") { request, _ in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(ConnectionRequest.self)
            let actions = try await runtime.power.supportedActions(body.connection)
            return Envelope.success(["powerActions": .array(actions.map(JSONValue.string))])
        }
    }
}
