import AgentCore
import Foundation

/// IONOS Cloud Panel API (seed 001): JSON, `X-TOKEN` header, errors `{type, message, errors}` in either key case,
/// server states POWERED_ON / POWERED_OFF / POWERING_ON / POWERING_OFF / REBOOTING / DEPLOYING / CONFIGURING / REMOVING.
public struct IONOSDriver: ProviderDriver {
    let account: ProviderAccount
    let http: ProviderHTTPClient

    public init(account: ProviderAccount, http: ProviderHTTPClient) {
        self.account = account
        self.http = http
    }

    public var provider: ProviderType { .ionos }
    /// POWER_OFF SOFTWARE / HARDWARE and REBOOT SOFTWARE / HARDWARE: every action is native.
    public var nativePowerActions: Set<ProviderPowerAction> { Set(ProviderPowerAction.allCases) }
    public var support: [ProviderOperation: ProviderSupport] { Self.supportTable }

    public static var supportTable: [ProviderOperation: ProviderSupport] {
        var table = Dictionary(uniqueKeysWithValues: ProviderOperation.allCases.map { ($0, ProviderSupport.native) })
        table[.console] = .unsupported
        table[.passwordReset] = .unsupported
        return table
    }

    /// The seed's status words, normalised.
    public static func state(_ word: String) -> ProviderPowerState {
        switch word.uppercased() {
        case "POWERED_ON": return .on
        case "POWERED_OFF": return .off
        case "POWERING_ON": return .poweringOn
        case "POWERING_OFF": return .poweringOff
        case "REBOOTING": return .rebooting
        case "DEPLOYING": return .installing
        case "CONFIGURING", "REMOVING": return .busy
        default: return .unknown
        }
    }

    public func checkCredentials() async throws {
        let answer = try await call(.GET, "/ping_auth")
        guard try answer.array().contains(where: { (try? $0.string()) == "PONG" }) else { throw answer.malformed("[\"PONG\"]") }
    }

    public func listServers() async throws -> [ProviderServer] {
        try await call(.GET, "/servers").array().map { server in
            ProviderServer(id: try server.child("id").string(), name: try server.child("name").optionalString(),
                           providerState: try server.child("status").child("state").optionalString())
        }
    }

    public func status(serverId: String) async throws -> ProviderServerStatus {
        let answer = try await call(.GET, "/servers/\(serverId)/status").object()
        let word = try answer.child("state").string()
        let percent = try answer.child("percent").optionalDouble().map { Int($0) }
        return ProviderServerStatus(state: Self.state(word), providerState: word, percent: percent)
    }

    public func sendPower(_ action: ProviderPowerAction, serverId: String) async throws {
        let body: JSONValue
        switch action {
        case .on: body = ["action": "POWER_ON"]
        case .off: body = ["action": "POWER_OFF", "method": "HARDWARE"]
        case .shutdown: body = ["action": "POWER_OFF", "method": "SOFTWARE"]
        case .reboot: body = ["action": "REBOOT", "method": "SOFTWARE"]
        case .reset: body = ["action": "REBOOT", "method": "HARDWARE"]
        }
        _ = try await call(.PUT, "/servers/\(serverId)/status/action", body: body)
    }

    public func templates() async throws -> [ProviderTemplate] {
        try await call(.GET, "/server_appliances").array().map { appliance in
            ProviderTemplate(id: try appliance.child("id").string(), name: try appliance.child("name").string(),
                             osFamily: try appliance.child("os_family").optionalString())
        }
    }

    /// PUT /servers/{id}/image, then the server's status until it is powered on again. The answer's
    /// `first_password` (set when no password was given) is the generated password, handed over once.
    public func reinstall(_ request: ProviderReinstallRequest, serverId: String, waiter: ProviderWaiter,
                          progress: @escaping @Sendable (String, Double?) async -> Void) async throws -> ProviderReinstallResult {
        var body: [String: JSONValue] = ["id": .string(request.template)]
        if let password = request.password { body["password"] = .string(password.revealed) }
        // The key's text goes in rsa_key; the seed's public_key is a list of key IDs stored at IONOS, not keys.
        if let key = request.sshKey { body["rsa_key"] = .string(key) }
        let answer = try await call(.PUT, "/servers/\(serverId)/image", body: .object(body))
        let firstPassword = try answer.child("first_password").optionalString()
        await progress("image accepted", 0)
        let (final, checks) = try await waiter.until(provider, "the image deployed", read: { try await status(serverId: serverId) },
                                                    describe: { $0.providerState }) { current in
            if current.state == .installing || current.state == .busy {
                await progress("deploying (\(current.providerState))", current.percent.map { Double($0) / 100 })
            }
            return current.state == .on
        }
        var result: [String: JSONValue] = [
            "template": .string(request.template), "providerState": .string(final.providerState), "checks": .integer(Int64(checks)),
        ]
        if request.hostname != nil { result["notApplied"] = ["hostname"] }
        return ProviderReinstallResult(details: result, generatedPassword: firstPassword.map(Secret.init))
    }

    public func console(serverId: String) async throws -> ConsoleAccess {
        .unsupported(reason: "the Cloud Panel API has no console call")
    }

    /// GET /dvd_isos: what the virtual DVD unit can load.
    public func isoImages(serverId: String) async throws -> [ProviderTemplate] {
        try await call(.GET, "/dvd_isos").array().map { iso in
            ProviderTemplate(id: try iso.child("id").string(), name: try iso.child("name").string(), osFamily: try iso.child("os_family").optionalString())
        }
    }

    /// PUT /servers/{id}/dvd with the ISO's id (202: being done; the caller reads the unit back). IONOS does not
    /// restart the server for it.
    public func insertISO(_ isoId: String, serverId: String) async throws -> Bool {
        _ = try await call(.PUT, "/servers/\(serverId)/dvd", body: ["id": .string(isoId)])
        return false
    }

    public func ejectISO(serverId: String) async throws {
        _ = try await call(.DELETE, "/servers/\(serverId)/dvd")
    }

    /// GET /servers/{id}/dvd: the loaded DVD's id; an empty unit reads as no id (null or `{}`).
    public func insertedISO(serverId: String) async throws -> String? {
        let answer = try await call(.GET, "/servers/\(serverId)/dvd")
        if answer.isNull { return nil }
        return try answer.object().child("id").optionalString()
    }

    /// PUT /servers/{id}/status/action with REBOOT, `recovery_mode` true and the recovery appliance (seed 001: "For
    /// baremetal servers, restarts the server on recovery mode"); the caller reads the state back.
    public func bootRecovery(serverId: String, image: String) async throws {
        _ = try await call(.PUT, "/servers/\(serverId)/status/action", body: [
            "action": "REBOOT", "method": "HARDWARE", "recovery_mode": true, "recovery_image_id": .string(image),
        ])
    }

    /// The monitoring center's transfer samples of the last 24 hours (bits per second, as IONOS reports them).
    public func traffic(serverId: String) async throws -> ProviderTraffic {
        let answer = try await call(.GET, "/monitoring_center/\(serverId)?period=LAST_24H").object()
        let samples = try answer.child("transfer").child("data").array().map { sample in
            ProviderTraffic.Sample(date: try sample.child("date").string(), downstreamBitsPerSecond: try sample.child("downstream").double(),
                                   upstreamBitsPerSecond: try sample.child("upstream").double())
        }
        return ProviderTraffic(inboundBytes: nil, outboundBytes: nil, samples: samples, source: "monitoring_center LAST_24H")
    }

    /// Finds the IP among the server's IPs, then PUT /public_ips/{ip_id} with `reverse_dns`.
    public func setReverseDNS(serverId: String, ip: String, hostname: String) async throws {
        let addresses = try await call(.GET, "/servers/\(serverId)/ips").array()
        guard let match = try addresses.first(where: { try $0.child("ip").string() == ip }) else {
            throw ProviderError.notFound(provider, detail: "server \(serverId) has no IP \(ip)")
        }
        let id = try AnswerIdentifier.checked(try match.child("id").string(), "the public IP's id", from: provider)
        _ = try await call(.PUT, "/public_ips/\(id)", body: ["reverse_dns": .string(hostname)])
    }

    /// Sends a request and reads its JSON answer, turning the seed's error shape into typed errors.
    func call(_ method: ProviderRequest.Method, _ path: String, body: JSONValue? = nil) async throws -> ProviderJSON {
        var headers = [("X-TOKEN", account.credential.revealed), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let response = try await http.send(ProviderRequest(
            method: method, url: account.baseURL + path, headers: headers, body: body.map { Array($0.jsonText.utf8) }))
        guard (200..<300).contains(response.status) else { throw error(from: response) }
        return try ProviderJSON.parse(response, provider: provider)
    }

    func error(from response: ProviderResponse) -> ProviderError {
        let document = try? ProviderJSON.parse(response, provider: provider)
        let type = (try? document?.anyCase("type").optionalString()) ?? nil
        let message = ((try? document?.anyCase("message").optionalString()) ?? nil) ?? "HTTP \(response.status)"
        var detail = account.redactor.redact(message)
        if let errors = document?.anyCase("errors").value, case .object(let fields) = errors, !fields.isEmpty {
            detail += " (" + fields.keys.sorted().joined(separator: ", ") + ")"
        }
        switch response.status {
        case 401: return .unauthorized(provider, detail: detail)
        case 404: return .notFound(provider, detail: detail)
        default:
            if document == nil, response.text.contains("<") {
                return .malformedAnswer(provider, detail: "an HTML page instead of JSON (HTTP \(response.status))")
            }
            return .rejected(provider, status: response.status, code: type, detail: detail)
        }
    }
}
