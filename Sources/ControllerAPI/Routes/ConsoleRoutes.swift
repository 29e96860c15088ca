import AgentCore
import Console
import Foundation
import Hummingbird

/// The controller's side of the consoles (the seed's console call): issue a link, list and revoke sessions, read a
/// server's serial output tail.
struct ConsoleRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        let console = runtime.console
        let runtime = self.runtime
        let limit = runtime.configuration.api.maxBodyBytes
        router.post("/v1/consoles") { request, _ in
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(JSONValue.self)
            let consoleRequest = try ConsoleRequest.decode(body)
            let link = try await console.create(consoleRequest, baseURL: runtime.consoleBaseURL)
            var result = link.session.json
            if case .object(var members) = result {
                members["token"] = .string(link.token)
                members["url"] = .string(link.url)
                result = .object(members)
            }
            return Envelope.success(result, status: .created)
        }
        router.get("/v1/consoles") { _, _ in
            Envelope.success(.array(console.sessions.list().map(\.json)))
        }
        router.delete("/v1/consoles/{token}") { _, context in
            let key = try context.pathParameter("token")
            guard let session = console.sessions.revoke(key) else { throw AgentError.notFound("console session", "(token or id)") }
            return Envelope.success(session.json)
        }
        router.get("/v1/consoles/log/{serverId}") { request, context in
            let serverId = try context.pathParameter("serverId")
            guard ConsoleRequest.isServerId(serverId) else { throw AgentError.invalidField("serverId", "1 to 64 of letters, digits and ._-") }
            guard let log = try await console.serialLog(serverId) else { throw AgentError.notFound("serial log of server", serverId) }
            if request.stringQuery("format") == "text" {
                return Envelope.text(String(decoding: log.bytes, as: UTF8.self))
            }
            return Envelope.success([
                "serverId": .string(serverId), "bytes": .integer(Int64(log.bytes.count)), "updatedAt": .string(UTCTime.iso8601(log.updatedAt)),
                "text": .string(String(decoding: log.bytes, as: UTF8.self)), "base64": .string(Data(log.bytes).base64EncodedString()),
            ])
        }
    }
}
