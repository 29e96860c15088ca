import AgentCore
import Foundation
import Hummingbird
import PDU

/// `GET /v1/network-devices/{id}/outlets` and `POST /v1/network-devices/{id}/outlets/{outlet}/{on|off|cycle}` for
/// registered PDUs. Switching runs as a job (a cycle waits for the outlet to stay off) and is read back.
struct OutletRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        let pdus = runtime.pdus
        router.get("/v1/network-devices/{id}/outlets") { _, context in
            let id = try NetworkDeviceRoutes.deviceId(context)
            return Envelope.success(["outlets": try JSONValue(encoding: try await pdus.outlets(id))])
        }
        router.post("/v1/network-devices/{id}/outlets/{outlet}/{action}") { request, context in
            let id = try NetworkDeviceRoutes.deviceId(context)
            let text = try context.pathParameter("outlet")
            guard let outlet = Int(text), (1...4096).contains(outlet) else { throw AgentError.invalidField("outlet", "an outlet number from 1 to 4096") }
            let name = try context.pathParameter("action")
            guard let action = OutletAction(rawValue: name) else {
                throw AgentError.invalidField("action", "unknown outlet action \(name) (one of on, off, cycle)")
            }
            let payload = try await RequestPayload.read(request, limit: limit)
            // Fails now, not in the job, for an unknown device or a PDU type without outlet control.
            _ = try await pdus.state(id, outlet: outlet)
            return try await JobSubmission(runtime: runtime).respond(
                to: request, payload: payload, kind: "pdu.outlet.\(action.rawValue)", target: "pdu:\(id):\(outlet)",
                description: "Outlet \(outlet) \(action.rawValue)", rootType: "networkDevice", rootId: id
            ) { _ in
                try JSONValue(encoding: try await pdus.perform(action, deviceId: id, outlet: outlet))
            }
        }
    }
}
