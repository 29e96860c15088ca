import AgentCore
import Foundation
import Hummingbird
import Provisioning

/// Installations (start, status, abort), the OS file cache and the last hardware inventory.
struct InstallationRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        let installations = runtime.installations
        let bootBaseURL = runtime.configuration.bootBaseURL
        router.put("/v1/installations/{serverId}") { request, context in
            let serverId = try context.pathParameter("serverId")
            let wait = try request.integerQuery("wait", default: 0, range: 0...600)
            let payload = try await RequestPayload.read(request, limit: limit)
            let body = try payload.decode(JSONValue.self)
            var record = try await installations.start(serverId: serverId, body: body)
            if wait > 0, let waited = try await installations.waitForPreparation(serverId, timeout: .seconds(wait)) { record = waited }
            return Envelope.success(record.status(bootBaseURL: bootBaseURL), status: .created)
        }
        router.get("/v1/installations/{serverId}") { _, context in
            let serverId = try context.pathParameter("serverId")
            try InstallationRequest.validateServerId(serverId)
            guard let record = try await installations.status(serverId) else { throw AgentError.notFound("installation for server", serverId) }
            return Envelope.success(record.status(bootBaseURL: bootBaseURL))
        }
        router.get("/v1/installations") { request, _ in
            let state = try request.stringQuery("state").map { text in
                guard let state = InstallationState(rawValue: text) else {
                    throw AgentError.invalidField("state", "one of \(InstallationState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return state
            }
            let records = try await installations.list().filter { state == nil || $0.state == state }
            return Envelope.success(.array(records.map { $0.status(bootBaseURL: bootBaseURL) }))
        }
        router.delete("/v1/installations/{serverId}") { request, context in
            let serverId = try context.pathParameter("serverId")
            try InstallationRequest.validateServerId(serverId)
            let withoutPowerReset = try request.stringQuery("withoutPowerReset").map { text -> Bool in
                guard ["0", "1", "true", "false"].contains(text) else { throw AgentError.invalidField("withoutPowerReset", "0 or 1") }
                return text == "1" || text == "true"
            } ?? false
            // The seed's stopReinstallation answer; the final status (with its clean-up steps) is GET /v1/installations/{id}, and a
            // clean-up that failed is an error here rather than "ok".
            _ = try await installations.abort(serverId, withoutPowerReset: withoutPowerReset)
            return Envelope.success("ok")
        }
        router.get("/v1/inventory/{serverId}") { _, context in
            let serverId = try context.pathParameter("serverId")
            try InstallationRequest.validateServerId(serverId)
            guard let (inventory, collectedAt) = try await installations.store.inventory(serverId) else {
                throw AgentError.notFound("hardware inventory for server", serverId)
            }
            return Envelope.success(["serverId": .string(serverId), "collectedAt": .string(UTCTime.iso8601(collectedAt)), "inventory": inventory])
        }
        router.get("/v1/os-cache") { _, _ in
            Envelope.success(.array(installations.cache.list()))
        }
        router.delete("/v1/os-cache/{cacheDirectory}") { _, context in
            let name = try context.pathParameter("cacheDirectory")
            if try await installations.cacheDirectoriesInUse().contains(name) { throw OSCacheError.busy(name) }
            guard try await installations.cache.clear(name) else { throw OSCacheError.unknownDirectory(name) }
            return Envelope.success(["cacheDirectory": .string(name), "cleared": true])
        }
    }
}

/// The boot listener: per-MAC iPXE scripts, installation files and callbacks, cached OS files.
struct BootRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        let gate = runtime.pxeGate
        let installations = runtime.installations
        let limit = runtime.configuration.api.maxBodyBytes
        let fileIO = FileIO()
        router.get("/boot/ipxe") { request, context in
            let query = request.uri.queryParameters
            guard let text = query.get("mac") else { throw AgentError.missingField("mac") }
            let mac = try MACAddress.parse(text, field: "mac")
            let architecture = BootArchitecture(query: query.get("arch"))
            switch try await gate.answer(mac: mac, architecture: architecture, clientAddress: context.peerAddress) {
            case .script(let script):
                return Envelope.text(script)
            case .refused:
                throw AgentError.notFound("boot script for", mac.description)
            }
        }
        router.get("/boot/files/{cacheDirectory}/**", use: Self.onCooperativePool { _, context in
            let name = try context.pathParameter("cacheDirectory")
            let path = try context.pathRemainder()
            let cache = installations.cache
            guard let file = try await BlockingWork.run({ cache.servedFile(cacheDirectory: name, path: path) }) else {
                throw AgentError.notFound("cached file", "\(name)/\(path)")
            }
            let size = try await BlockingWork.run { try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0 }
            let body = try await fileIO.loadFile(path: file, context: context)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream", .contentLength: String(size)], body: body)
        })
        for callback in ["progress", "done"] {
            let handler: @Sendable (Request, AgentRequestContext) async throws -> Response = { request, context in
                let token = try Self.bootToken(context)
                let query = try await Self.parameters(request, limit: limit)
                if callback == "progress" {
                    try await installations.progress(token: token, step: query["step"], message: query["message"], clientAddress: context.peerAddress)
                } else {
                    try await installations.done(token: token, event: query["event"], clientAddress: context.peerAddress)
                }
                return Envelope.text("ok\n")
            }
            router.get("/boot/{token}/\(callback)", use: Self.onCooperativePool(handler))
            router.post("/boot/{token}/\(callback)", use: Self.onCooperativePool(handler))
        }
        router.post("/boot/{token}/inventory", use: Self.onCooperativePool { request, context in
            let token = try Self.bootToken(context)
            let report = try (try await RequestPayload.read(request, limit: limit)).decode(JSONValue.self)
            let inventory = try await installations.inventory(token: token, report: report, clientAddress: context.peerAddress)
            return Envelope.success(["components": .integer(Int64(inventory["components"].map { if case .array(let items) = $0 { items.count } else { 0 } } ?? 0))])
        })
        router.get("/boot/{token}/**", use: Self.onCooperativePool { _, context in
            let token = try Self.bootToken(context)
            var path = try context.pathRemainder()
            if path == "autoinstall" || path == "autoinstall/" { path = "autoinstall/user-data" }
            let file = try await installations.file(token: token, path: path, clientAddress: context.peerAddress)
            return Envelope.text(file.content, contentType: file.contentType)
        })
    }

    /// A route that runs on the cooperative pool rather than its connection's event loop: it reads a body anyone on
    /// the boot network may send (up to the body limit, before its token is checked), decodes it, or ends an
    /// installation through the installation manager (an actor, which would otherwise run there too). Only the
    /// script lookup, answered from memory, stays on the event loop.
    static func onCooperativePool(
        _ handler: @escaping @Sendable (Request, AgentRequestContext) async throws -> Response
    ) -> @Sendable (Request, AgentRequestContext) async throws -> Response {
        { request, context in
            try await withTaskExecutorPreference(globalConcurrentExecutor) { try await handler(request, context) }
        }
    }

    /// The per-installation token of a boot URL. Anything wrong with it, a malformed encoding too, is the same plain
    /// 404 an unknown token gets: the boot side tells a caller nothing about why.
    static func bootToken(_ context: AgentRequestContext) throws -> String {
        do {
            return try context.pathParameter("token")
        } catch {
            throw InstallationError.unknownToken
        }
    }

    /// Query parameters, and form or JSON fields of a POST body (installers report either way).
    static func parameters(_ request: Request, limit: Int) async throws -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { values[String(key)] = String(value).replacingOccurrences(of: "+", with: " ") }
        guard request.method == .post else { return values }
        let payload = try await RequestPayload.read(request, limit: limit)
        guard !payload.bytes.isEmpty else { return values }
        if let object = try? JSONCoding.decoder.decode([String: JSONValue].self, from: Data(payload.bytes)) {
            for (key, value) in object { values[key] = value.stringValue ?? value.jsonText }
        } else if let text = String(bytes: payload.bytes, encoding: .utf8) {
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
                if parts.count == 2 { values[parts[0]] = parts[1] }
            }
        }
        return values
    }
}
