import AgentCore
import Foundation
import Hummingbird
import Provisioning

/// The seed's ISO list on the agent: `PUT /v1/isos/{id}` (`name`, `downloadUrl`) registers an image and caches it
/// as a job; `GET /v1/isos`, `GET /v1/isos/{id}` and `DELETE /v1/isos/{id}`. A ready image is served from the boot
/// listener (`url`), for BMCs to mount as virtual media.
struct ISORoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        let isos = runtime.isos
        let installations = runtime.installations
        let bootBaseURL = runtime.configuration.bootBaseURL
        router.put("/v1/isos/{id}") { request, context in
            let payload = try await RequestPayload.read(request, limit: limit)
            let registration = try ISORegistration(id: try context.pathParameter("id"), body: try payload.decode(JSONValue.self))
            // Another image under the same id would replace the cached file a BMC may be reading for a running installation.
            if let current = try await isos.image(registration.id), current.downloadUrl != registration.downloadUrl {
                try await Self.refuseWhileBooted(registration.id, installations: installations)
            }
            // Registered by the job itself: a request replayed with its Idempotency-Key, which starts no job, changes nothing.
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "iso.fetch", target: "iso:\(registration.id)", description: "Cached ISO \(registration.name)",
                rootType: "iso", rootId: registration.id
            ) { _ in
                try await isos.register(registration)
                return try Self.representation(try await isos.fetch(registration), bootBaseURL: bootBaseURL)
            }
        }
        router.get("/v1/isos") { _, _ in
            Envelope.success(.array(try await isos.all().map { try Self.representation($0, bootBaseURL: bootBaseURL) }))
        }
        router.get("/v1/isos/{id}") { _, context in
            let id = try context.pathParameter("id")
            guard let image = try await isos.image(id) else { throw AgentError.notFound("ISO", id) }
            return Envelope.success(try Self.representation(image, bootBaseURL: bootBaseURL))
        }
        router.delete("/v1/isos/{id}") { _, context in
            let id = try context.pathParameter("id")
            try await Self.refuseWhileBooted(id, installations: installations)
            guard try await isos.remove(id) else { throw AgentError.notFound("ISO", id) }
            return Envelope.success(["id": .string(id), "deleted": true])
        }
    }

    /// 409 `iso_in_use` while a running installation boots the image (it mounts it again after a restart of the agent).
    static func refuseWhileBooted(_ id: String, installations: InstallationManager) async throws {
        if let user = try await installations.store.all(state: .running).first(where: { $0.bootISO == id }) {
            throw AgentError.conflict(
                "iso_in_use", "ISO \(id) is mounted for the running installation of server \(user.serverId); change it when that has ended",
                details: ["id": .string(id), "serverId": .string(user.serverId)])
        }
    }

    /// The image with the URL BMCs fetch it from, once it is ready.
    static func representation(_ image: ISOImage, bootBaseURL: String) throws -> JSONValue {
        var document = try JSONValue(encoding: image)
        if case .object(var members) = document {
            members["url"] = image.state == .ready ? .string(image.servedURL(bootBaseURL: bootBaseURL)) : .null
            document = .object(members)
        }
        return document
    }
}
