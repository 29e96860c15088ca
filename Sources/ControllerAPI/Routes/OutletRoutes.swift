import AgentCore
import Foundation
import Hummingbird
import PDU

/// `GET /v1/network-devices/{id}/outlets` and `POST /v1/network-devices/{id}/outlets/{outlet}/{on|off|cycle}` for
/// registered PDUs (switching runs as a job, a cycle waits for the outlet to stay off, every switch is read back);
/// `GET .../ats` for transfer switches and `GET .../console-ports` for KVM and serial console switches.
struct OutletRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        let limit = runtime.configuration.api.maxBodyBytes
        let pdus = runtime.pdus
        router.get("/v1/network-devices/{id}/outlets") { _, context in
            let id = try NetworkDeviceRoutes.deviceId(context)
            return Envelope.success(try JSONValue(encoding: try await pdus.outlets(id)))
        }
        router.get("/v1/network-devices/{id}/ats") { _, context in
            Envelope.success(try JSONValue(encoding: try await pdus.transferSwitch(try NetworkDeviceRoutes.deviceId(context))))
        }
        router.get("/v1/network-devices/{id}/console-ports") { _, context in
            Envelope.success(["ports": try JSONValue(encoding: try await pdus.consolePorts(try NetworkDeviceRoutes.deviceId(context)))])
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
