import AgentCore
import Foundation

/// CloudSigma API 1.0 (seed 004): text/plain `key value` lines, HTTP Basic (e-mail and password), errors as
/// `errors:<field> <message>` lines with the HTTP status, server status `active` / `stopped`. The API has start,
/// stop and shutdown; reboot, reset and reinstall are composed by the agent and verified step by step.
public struct CloudSigmaDriver: ProviderDriver {
    let account: ProviderAccount
    let http: ProviderHTTPClient

    public init(account: ProviderAccount, http: ProviderHTTPClient) {
        self.account = account
        self.http = http
    }

    public var provider: ProviderType { .cloudsigma }
    public var nativePowerActions: Set<ProviderPowerAction> { [.on, .off, .shutdown] }
    public var support: [ProviderOperation: ProviderSupport] { Self.supportTable }

    public static var supportTable: [ProviderOperation: ProviderSupport] {
        var table = Dictionary(uniqueKeysWithValues: ProviderOperation.allCases.map { ($0, ProviderSupport.native) })
        table[.reboot] = .emulated
        table[.reset] = .emulated
        table[.reinstall] = .emulated
        table[.jobPolling] = .emulated
        table[.reverseDNS] = .unsupported
        table[.recoveryBoot] = .unsupported
        table[.isoBoot] = .unsupported
        table[.passwordReset] = .unsupported
        return table
    }

    public static func state(_ word: String) -> ProviderPowerState {
        switch word.lowercased() {
        case "active", "running": return .on
        case "stopped": return .off
        case "paused", "dumped": return .busy
        default: return .unknown
        }
    }

    public func checkCredentials() async throws {
        let profile = CloudSigmaText.object(try await call(.GET, "/profile/info"))
        guard profile["uuid"] != nil || profile["email"] != nil else {
            throw ProviderError.malformedAnswer(provider, detail: "profile info without uuid or email")
        }
    }

    public func listServers() async throws -> [ProviderServer] {
        try CloudSigmaText.objects(try await call(.GET, "/servers/info")).map { server in
            guard let id = server["server"] else { throw ProviderError.malformedAnswer(provider, detail: "a server without its `server` key") }
            return ProviderServer(id: id, name: server["name"], providerState: server["status"])
        }
    }

    public func status(serverId: String) async throws -> ProviderServerStatus {
        let word = try required(try await serverInfo(serverId), "status", of: "server \(serverId)")
        return ProviderServerStatus(state: Self.state(word), providerState: word)
    }

    public func sendPower(_ action: ProviderPowerAction, serverId: String) async throws {
        let command: String
        switch action {
        case .on: command = "start"
        case .off: command = "stop"
        case .shutdown: command = "shutdown"
        case .reboot, .reset: throw ProviderError.unsupported(provider, operation: "\(action.rawValue) natively")
        }
        do {
            _ = try await call(.POST, "/servers/\(serverId)/\(command)")
        } catch ProviderError.rejected(_, status: 405, _, _) {
            // The manual's rule is POST for changes, but its per-call table prints GET for start, stop and shutdown; a
            // 405 means the call was refused unexecuted, so the other method is safe to try once.
            _ = try await call(.GET, "/servers/\(serverId)/\(command)", changesState: true)
        }
    }

    /// The standard drive images, each named by its drive info.
    public func templates() async throws -> [ProviderTemplate] {
        var templates: [ProviderTemplate] = []
        // Only drive ids: a line that is not one never becomes a request (a garbled list once meant hundreds of calls).
        for drive in CloudSigmaText.list(try await call(.GET, "/drives/standard/img/list")) where CloudSigmaText.isIdentifier(drive) {
            let info = try await driveInfo(drive)
            templates.append(ProviderTemplate(id: drive, name: info["name"] ?? drive, osFamily: nil))
        }
        return templates
    }

    /// Clone the image drive, wait until the clone is done, stop the server (verified), attach the clone as
    /// the boot drive (read back), start it (verified). The previous drive stays, detached, for the operator.
    public func reinstall(_ request: ProviderReinstallRequest, serverId: String, waiter: ProviderWaiter,
                          progress: @escaping @Sendable (String, Double?) async -> Void) async throws -> ProviderReinstallResult {
        guard CloudSigmaText.isIdentifier(request.template) else {
            throw AgentError.invalidField("template", "CloudSigma image drives are named by their UUID")
        }
        let server = try await serverInfo(serverId)
        let bootDevice = (server["boot"] ?? "ide:0:0").split(separator: " ").first.map(String.init) ?? "ide:0:0"
        let previousDrive = server[bootDevice]
        let image = try await driveInfo(request.template)
        var size = Int64(image["size"] ?? "") ?? 0
        if let previousDrive, let previousSize = Int64(try await driveInfo(previousDrive)["size"] ?? "") { size = max(size, previousSize) }
        guard size > 0 else { throw ProviderError.malformedAnswer(provider, detail: "drive \(request.template) has no size") }
        let name = request.hostname ?? server["name"] ?? serverId
        let clone = CloudSigmaText.object(try await call(
            .POST, "/drives/\(request.template)/clone", body: CloudSigmaText.encode([("name", name), ("size", String(size))])))
        let newDrive = try required(clone, "drive", of: "the clone")
        await progress("cloning \(request.template) to \(newDrive)", 0)
        var checks = try await waiter.until(provider, "the clone of \(request.template)", read: { try await driveInfo(newDrive) },
                                            describe: { "\($0["status"] ?? "?") \($0["imaging"] ?? "")" }) { drive in
            if let imaging = drive["imaging"] {
                await progress("cloning \(imaging)", Double(imaging.filter(\.isNumber)).map { $0 / 100 * 0.8 })
                return false
            }
            return drive["status"] == "active"
        }.checks
        if Self.state(server["status"] ?? "") != .off {
            try await sendPower(.off, serverId: serverId)
            checks += try await waiter.state(.off, of: serverId, driver: self).1
        }
        await progress("attaching \(newDrive) as \(bootDevice)", 0.85)
        _ = try await call(.POST, "/servers/\(serverId)/set", body: CloudSigmaText.encode([(bootDevice, newDrive)]))
        let attached = try await serverInfo(serverId)[bootDevice]
        guard attached == newDrive else {
            throw ProviderError.verificationFailed(provider, expected: "\(bootDevice) \(newDrive)", actual: "\(bootDevice) \(attached ?? "none")")
        }
        try await sendPower(.on, serverId: serverId)
        checks += try await waiter.state(.on, of: serverId, driver: self).1
        var result: [String: JSONValue] = [
            "template": .string(request.template), "drive": .string(newDrive), "bootDevice": .string(bootDevice), "checks": .integer(Int64(checks)),
        ]
        if let previousDrive { result["previousDrive"] = .string(previousDrive) }
        var notApplied: [JSONValue] = []
        if request.password != nil { notApplied.append("password") }
        if request.sshKey != nil { notApplied.append("sshKey") }
        if !notApplied.isEmpty { result["notApplied"] = .array(notApplied) }
        return ProviderReinstallResult(details: result)
    }

    /// VNC on port 5900 of `vnc:ip` with `vnc:password`; without a password VNC is disabled.
    public func console(serverId: String) async throws -> ConsoleAccess {
        let server = try await serverInfo(serverId)
        guard let password = server["vnc:password"], !password.isEmpty else { return .unsupported(reason: "VNC is disabled (no vnc:password)") }
        var host = server["vnc:ip"] ?? "auto"
        if host == "auto" { host = server["nic:0:dhcp"] ?? "auto" }
        guard host != "auto" else { return .unsupported(reason: "the VNC address is allocated at boot; the server is not running") }
        return .vnc(host: host, port: 5900, password: Secret(password))
    }

    /// The server's `rx` / `tx` byte counters.
    public func traffic(serverId: String) async throws -> ProviderTraffic {
        let server = try await serverInfo(serverId)
        guard let received = Int64(server["rx"] ?? ""), let sent = Int64(server["tx"] ?? "") else {
            throw ProviderError.malformedAnswer(provider, detail: "server \(serverId): rx and tx must be integers")
        }
        return ProviderTraffic(inboundBytes: received, outboundBytes: sent, samples: [], source: "server info rx/tx")
    }

    public func setReverseDNS(serverId: String, ip: String, hostname: String) async throws {
        throw ProviderError.unsupported(provider, operation: "set reverse DNS (API 1.0 has no call for it)")
    }

    func serverInfo(_ serverId: String) async throws -> CloudSigmaText.Object {
        CloudSigmaText.object(try await call(.GET, "/servers/\(serverId)/info"))
    }

    /// A drive's details; `drive` often comes from another answer, so anything but a drive id is refused before it
    /// can become part of a request path.
    func driveInfo(_ drive: String) async throws -> CloudSigmaText.Object {
        guard CloudSigmaText.isIdentifier(drive) else { throw ProviderError.malformedAnswer(provider, detail: "\(drive.prefix(60)) is not a drive id") }
        return CloudSigmaText.object(try await call(.GET, "/drives/\(drive)/info"))
    }

    func required(_ object: CloudSigmaText.Object, _ key: String, of what: String) throws -> String {
        guard let value = object[key], !value.isEmpty else { throw ProviderError.malformedAnswer(provider, detail: "\(what): no `\(key)`") }
        return value
    }

    /// Sends a request; the answer's text, or a typed error from the status and its `errors:` lines.
    func call(_ method: ProviderRequest.Method, _ path: String, body: String? = nil, changesState: Bool = false) async throws -> String {
        let basic = Data("\(account.username):\(account.credential.revealed)".utf8).base64EncodedString()
        var headers = [("Authorization", "Basic \(basic)"), ("Accept", "text/plain")]
        if body != nil { headers.append(("Content-Type", "text/plain")) }
        let response = try await http.send(ProviderRequest(method: method, url: account.baseURL + path, headers: headers,
                                                           body: body.map { Array($0.utf8) }, changesState: changesState))
        let text = response.text
        let looksLikeHTML = text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("<")
        guard (200..<300).contains(response.status) else {
            let errors = CloudSigmaText.errors(text)
            let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            let detail = account.redactor.redact(errors.isEmpty ? (looksLikeHTML || firstLine.isEmpty ? "HTTP \(response.status)" : String(firstLine.prefix(200)))
                : errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "))
            switch response.status {
            case 401: throw ProviderError.unauthorized(provider, detail: detail)
            case 404: throw ProviderError.notFound(provider, detail: detail)
            default:
                if looksLikeHTML, errors.isEmpty {
                    throw ProviderError.malformedAnswer(provider, detail: "an HTML page instead of key/value text (HTTP \(response.status))")
                }
                throw ProviderError.rejected(provider, status: response.status, code: errors.first?.field, detail: detail)
            }
        }
        if looksLikeHTML { throw ProviderError.malformedAnswer(provider, detail: "an HTML page instead of key/value text") }
        return text
    }
}
