import AgentCore
import Foundation
import Hummingbird
import Provisioning

/// DHCP entries, the rendered configuration and regeneration.
struct DHCPRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        let dhcp = runtime.dhcp
        router.put("/v1/dhcp/entries/{mac}") { request, context in
            let mac = try MACAddress.parse(try context.pathParameter("mac"), field: "mac")
            let body = try (try await RequestPayload.read(request, limit: limit)).decode(DHCPEntryRequest.self)
            let (entry, created) = try await dhcp.put(mac, body)
            return Envelope.success(entry.apiRepresentation, status: created ? .created : .ok)
        }
        router.get("/v1/dhcp/entries/{mac}") { _, context in
            let mac = try MACAddress.parse(try context.pathParameter("mac"), field: "mac")
            guard let entry = try await dhcp.store.get(mac) else { throw AgentError.notFound("DHCP entry", mac.description) }
            return Envelope.success(entry.apiRepresentation)
        }
        router.get("/v1/dhcp/entries") { _, _ in
            Envelope.success(.array(try await dhcp.store.all().map(\.apiRepresentation)))
        }
        router.delete("/v1/dhcp/entries/{mac}") { _, context in
            let mac = try MACAddress.parse(try context.pathParameter("mac"), field: "mac")
            guard try await dhcp.delete(mac) else { throw AgentError.notFound("DHCP entry", mac.description) }
            return Envelope.success(.null)
        }
        router.post("/v1/dhcp/regenerate") { _, _ in
            Envelope.success(try await dhcp.regenerate(reason: "requested by the controller"))
        }
        router.get("/v1/dhcp/config") { request, _ in
            let requested = request.stringQuery("backend")
            let backend: DHCPBackendKind
            if let requested {
                guard let parsed = DHCPBackendKind(rawValue: requested), parsed != .none else {
                    throw AgentError.invalidField("backend", "must be dnsmasq, kea or isc")
                }
                backend = parsed
            } else {
                guard dhcp.backend != .none else { throw AgentError.unsupported("dhcp.backend is none; pass ?backend=") }
                backend = dhcp.backend
            }
            let entries = try await dhcp.store.all()
            guard let rendered = try dhcp.render(entries, backend: backend) else { throw AgentError.unsupported("no renderer") }
            return Envelope.success([
                "backend": .string(backend.rawValue), "main": .string(rendered.main),
                "hostFiles": .object(rendered.hostFiles.mapValues(JSONValue.string)),
                "optionFiles": .object(rendered.optionFiles.mapValues(JSONValue.string)),
            ])
        }
    }
}
