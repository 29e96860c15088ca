import AgentCore
import Foundation

/// Venocix reseller API (seeds 002 and 003): JSON with results in `result`, Bearer token, errors
/// `{"result": false, "error": "0xNN: text"}` (or `{"error": "..."}` in the newer version), jobs with status
/// queued / executing / finished / failed and progress 0...1. Cloud VMs live under `/datacenter/server`,
/// dedicated servers (newer API only) under `/datacenter/dedicated`.
public struct VenocixDriver: ProviderDriver {
    let account: ProviderAccount
    let kind: ProviderConnection.VenocixKind
    let http: ProviderHTTPClient
    /// noVNC tickets must be used within ten seconds (seed 003).
    static let consoleTicketLifetime: TimeInterval = 10

    public init(account: ProviderAccount, kind: ProviderConnection.VenocixKind, http: ProviderHTTPClient) {
        self.account = account
        self.kind = kind
        self.http = http
    }

    public var provider: ProviderType { .venocix }

    public var nativePowerActions: Set<ProviderPowerAction> {
        kind == .vm ? Set(ProviderPowerAction.allCases) : [.on, .shutdown, .reboot]
    }

    public var support: [ProviderOperation: ProviderSupport] { Self.supportTable(kind) }

    public static func supportTable(_ kind: ProviderConnection.VenocixKind) -> [ProviderOperation: ProviderSupport] {
        var table = Dictionary(uniqueKeysWithValues: ProviderOperation.allCases.map { ($0, ProviderSupport.native) })
        table[.recoveryBoot] = .unsupported
        if kind == .dedicated {
            table[.powerOff] = .emulated
            table[.reset] = .emulated
            table[.jobPolling] = .emulated
            table[.isoBoot] = .unsupported
            table[.passwordReset] = .unsupported
        }
        return table
    }

    /// The error-code table of the seeds.
    enum ErrorCode: String {
        case noSuchServer = "0x01", unauthorized = "0x03", signalFailed = "0xa1", timeout = "0xa3", noBackup = "0xa5"
        case limitsExceeded = "0xb0", missingParameter = "0xb1", noSuchJob = "0xc1"
    }

    /// VM states (`running`, `stopped`, `paused`) and dedicated states (`running` / `halted`, status online / offline).
    public static func state(_ word: String) -> ProviderPowerState {
        switch word.lowercased() {
        case "running", "online": return .on
        case "stopped", "halted", "offline", "shutdown": return .off
        case "paused", "suspended": return .busy
        default: return .unknown
        }
    }

    var base: String { kind == .vm ? "/datacenter/server" : "/datacenter/dedicated" }

    public func checkCredentials() async throws {
        _ = try await call(.GET, base)
    }

    public func listServers() async throws -> [ProviderServer] {
        try await call(.GET, base).array().map { entry in
            if kind == .vm { return ProviderServer(id: try entry.string(), name: nil, providerState: nil) }
            let complete = (try? entry.child("orderComplete").bool()) ?? true
            return ProviderServer(id: try entry.child("id").string(), name: nil, providerState: complete ? nil : "orderIncomplete")
        }
    }

    public func status(serverId: String) async throws -> ProviderServerStatus {
        let answer = try await call(.GET, "\(base)/\(serverId)/status").object()
        let word = try answer.child("state").string()
        return ProviderServerStatus(state: Self.state(word), providerState: word)
    }

    public func sendPower(_ action: ProviderPowerAction, serverId: String) async throws {
        let command: String
        switch (kind, action) {
        case (_, .on): command = "start"
        case (.vm, .off): command = "stop"
        case (_, .shutdown): command = "shutdown"
        case (_, .reboot): command = "reboot"
        // reboot/force exists in both API versions (the newer one also names it reset).
        case (.vm, .reset): command = "reboot/force"
        case (.dedicated, .off), (.dedicated, .reset):
            throw ProviderError.unsupported(provider, operation: "\(action.rawValue) a dedicated server natively")
        }
        let answer = try await call(.PUT, "\(base)/\(serverId)/\(command)")
        // The seeds answer `{"result": true}`; anything else is not a confirmation (malformed when not even a boolean).
        guard try answer.bool() else { throw ProviderError.rejected(provider, status: 200, code: nil, detail: "\(command) answered false") }
    }

    public func templates() async throws -> [ProviderTemplate] {
        try await call(.GET, kind == .vm ? "/datacenter/templates" : "/datacenter/dedicated/templates").array().map { entry in
            let name = try entry.string()
            return ProviderTemplate(id: name, name: name, osFamily: nil)
        }
    }

    /// VMs: PUT reinstall, then the job until finished (its output carries user and password).
    /// Dedicated servers: PUT reinstall, then the installation status until it has run and ended.
    public func reinstall(_ request: ProviderReinstallRequest, serverId: String, waiter: ProviderWaiter,
                          progress: @escaping @Sendable (String, Double?) async -> Void) async throws -> ProviderReinstallResult {
        var body: [String: JSONValue] = ["template": .string(request.template)]
        if let hostname = request.hostname { body["hostname"] = .string(hostname) }
        // A VM's root password is set after the reinstall through the password reset call; a dedicated server has none.
        var notApplied: [JSONValue] = request.password == nil || kind == .vm ? [] : ["password"]
        if let key = request.sshKey {
            if kind == .vm { body["sshKey"] = .string(key) } else { notApplied.append("sshKey") }
        }
        let answer = try await call(.PUT, "\(base)/\(serverId)/reinstall", body: .object(body))
        var result: [String: JSONValue] = ["template": .string(request.template)]
        if !notApplied.isEmpty { result["notApplied"] = .array(notApplied) }
        if kind == .vm {
            let jobId = try AnswerIdentifier.checked(try answer.child("jobId").string(), "the reinstall job's id", from: provider)
            result["providerJobId"] = .string(jobId)
            await progress("provider job \(jobId) queued", 0)
            let (job, checks) = try await waiter.until(provider, "job \(jobId)", read: { try await self.job(jobId) },
                                                       describe: { $0.providerStatus }) { job in
                switch job.phase {
                case .failed: throw ProviderError.jobFailed(provider, detail: account.redactor.redact(job.output.stringValue ?? job.output.jsonText))
                case .finished: return true
                case .queued, .running:
                    await progress("provider job \(job.providerStatus)", job.progress)
                    return false
                }
            }
            result["checks"] = .integer(Int64(checks))
            for key in ["user", "ips", "vmid"] { if let value = job.output[key] { result[key] = value } }
            if let password = request.password {
                await progress("setting the requested root password", 1)
                do {
                    _ = try await resetRootPassword(serverId: serverId, password: password)
                    result["passwordApplied"] = true
                    return ProviderReinstallResult(details: result, generatedPassword: nil)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    // The server is installed; the job's password is handed over rather than lost. A call that was
                    // refused left it in place; one whose answer was lost may have set the requested one instead.
                    let effect = DeviceEffect.of(error)
                    result[effect == .untouched ? "notApplied" : "passwordUnknown"] = ["password"]
                    result["passwordError"] = .string(AgentError.from(error).message)
                }
            }
            return ProviderReinstallResult(details: result, generatedPassword: job.output["password"]?.stringValue.map(Secret.init))
        }
        guard try answer.bool() else { throw ProviderError.rejected(provider, status: 200, code: nil, detail: "reinstall answered false") }
        await progress("installation requested", 0)
        let started = try await waiter.until(provider, "the installation to start", read: { try await installation(serverId) },
                                             describe: { "installation \($0.running)" }) { $0.running }
        await progress("installing", nil)
        let (final, checks) = try await waiter.until(provider, "the installation to finish", read: { try await installation(serverId) },
                                                     describe: { "installation \($0.running)" }) { !$0.running }
        result["checks"] = .integer(Int64(started.checks + checks))
        result["user"] = "root"
        return ProviderReinstallResult(details: result, generatedPassword: final.rootPassword.map(Secret.init))
    }

    public func console(serverId: String) async throws -> ConsoleAccess {
        let requested = Date()
        let url = try await call(.GET, "\(base)/\(serverId)/console").string()
        return .noVNC(url: Secret(url), expiresAt: kind == .vm ? requested.addingTimeInterval(Self.consoleTicketLifetime) : nil)
    }

    /// `netin` / `netout` of the status call (bytes, as the provider counts them).
    public func traffic(serverId: String) async throws -> ProviderTraffic {
        let answer = try await call(.GET, "\(base)/\(serverId)/status").object()
        return ProviderTraffic(inboundBytes: try answer.child("netin").integer(), outboundBytes: try answer.child("netout").integer(),
                               samples: [], source: "status netin/netout")
    }

    public func setReverseDNS(serverId: String, ip: String, hostname: String) async throws {
        _ = try await call(kind == .vm ? .POST : .PUT, "\(base)/\(serverId)/rdns", body: ["ip": .string(ip), "hostname": .string(hostname)])
    }

    func job(_ jobId: String) async throws -> ProviderJobStatus {
        let answer = try await call(.GET, "/job/\(jobId)").object()
        let word = try answer.child("status").string()
        let phase: ProviderJobStatus.Phase
        switch word.lowercased() {
        case "queued": phase = .queued
        case "executing", "running": phase = .running
        case "finished", "done": phase = .finished
        case "failed", "error": phase = .failed
        default: throw answer.child("status").malformed("queued, executing, finished or failed")
        }
        return ProviderJobStatus(phase: phase, providerStatus: word, progress: try answer.child("progress").optionalDouble(), output: answer.child("output").value)
    }

    struct InstallationStatus: Sendable {
        var running: Bool
        var rootPassword: String?
    }

    func installation(_ serverId: String) async throws -> InstallationStatus {
        let answer = try await call(.GET, "\(base)/\(serverId)/installation").object()
        return InstallationStatus(running: try answer.child("installation").bool(),
                                  rootPassword: try answer.child("ssh").child("root").child("password").optionalString())
    }

    /// PUT .../password/reset (VMs, seed 003): with `password` the provider sets it (at least 6 characters), without it
    /// the provider generates one and answers it.
    public func resetRootPassword(serverId: String, password: Secret?) async throws -> Secret? {
        guard kind == .vm else { throw ProviderError.unsupported(provider, operation: "root password reset on dedicated servers") }
        let answer = try await call(.PUT, "\(base)/\(serverId)/password/reset", body: .object(password.map { ["password": .string($0.revealed)] } ?? [:]))
        guard try answer.child("status").optionalString() == "success" else { throw answer.child("status").malformed("success") }
        return password == nil ? try answer.child("password").optionalString().map(Secret.init) : nil
    }

    /// GET .../iso (VMs, seed 003): `[{"id": "ISOs:iso/debian-11.5.0-amd64-netinst-0.iso", "name": "debian-11.5.0-amd64-netinst.iso"}]`.
    public func isoImages(serverId: String) async throws -> [ProviderTemplate] {
        guard kind == .vm else { throw ProviderError.unsupported(provider, operation: "ISO boot on dedicated servers") }
        return try await call(.GET, "\(base)/\(serverId)/iso").array().map { iso in
            ProviderTemplate(id: try iso.child("id").string(), name: try iso.child("name").string(), osFamily: nil)
        }
    }

    /// POST .../iso with `isoId`; the answer's `rebooted` (beside `result`) says whether the VM restarted from it.
    public func insertISO(_ isoId: String, serverId: String) async throws -> Bool {
        guard kind == .vm else { throw ProviderError.unsupported(provider, operation: "ISO boot on dedicated servers") }
        let document = try await send(.POST, "\(base)/\(serverId)/iso", body: ["isoId": .string(isoId)])
        return document.value["rebooted"] == .bool(true)
    }

    /// The VM configuration's `iso` (seed 003's GET .../config; null when the drive is empty). A configuration
    /// without the field is a malformed answer, never an empty drive.
    public func insertedISO(serverId: String) async throws -> String? {
        guard kind == .vm else { throw ProviderError.unsupported(provider, operation: "ISO boot on dedicated servers") }
        let config = try await call(.GET, "\(base)/\(serverId)/config").object()
        guard case .object(let members) = config.value, members["iso"] != nil else { throw config.child("iso").malformed("the iso field (null when empty)") }
        return try config.child("iso").optionalString()
    }

    public func ejectISO(serverId: String) async throws {
        guard kind == .vm else { throw ProviderError.unsupported(provider, operation: "ISO boot on dedicated servers") }
        _ = try await call(.DELETE, "\(base)/\(serverId)/iso")
    }

    /// Sends a request and unwraps `result`; `{"result": false, "error": "0xNN: ..."}` becomes a typed error.
    func call(_ method: ProviderRequest.Method, _ path: String, body: JSONValue? = nil) async throws -> ProviderJSON {
        try await send(method, path, body: body).child("result")
    }

    /// Sends a request and checks the answer (a typed error for the seed's error shape); the whole document.
    func send(_ method: ProviderRequest.Method, _ path: String, body: JSONValue? = nil) async throws -> ProviderJSON {
        var headers = [("Authorization", "Bearer \(account.credential.revealed)"), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let response = try await http.send(ProviderRequest(
            method: method, url: account.baseURL + path, headers: headers, body: body.map { Array($0.jsonText.utf8) }))
        let document: ProviderJSON
        do {
            document = try ProviderJSON.parse(response, provider: provider).object()
        } catch let error as ProviderError {
            switch response.status {
            case 401: throw ProviderError.unauthorized(provider, detail: "HTTP 401")
            case 404: throw ProviderError.notFound(provider, detail: "HTTP 404 for \(path)")
            default: throw error
            }
        }
        if let message = try document.child("error").optionalString() {
            throw Self.error(account.redactor.redact(message), status: response.status)
        }
        guard (200..<300).contains(response.status) else {
            throw ProviderError.rejected(provider, status: response.status, code: nil, detail: "HTTP \(response.status) without an error text")
        }
        guard let result = document.value["result"] else { throw document.child("result").malformed("a result") }
        if result == .bool(false) { throw ProviderError.rejected(provider, status: response.status, code: nil, detail: "result false without an error") }
        return document
    }

    /// `0x01: no vm with id 4001 found` → a typed error carrying the code.
    static func error(_ message: String, status: Int) -> ProviderError {
        let code = message.split(separator: ":", maxSplits: 1).first.map { String($0).trimmingCharacters(in: .whitespaces).lowercased() }
        let known = code.flatMap(ErrorCode.init(rawValue:))
        switch known {
        case .unauthorized: return .unauthorized(.venocix, detail: message)
        case .noSuchServer, .noSuchJob: return .notFound(.venocix, detail: message)
        default:
            if known == nil, status == 401 { return .unauthorized(.venocix, detail: message) }
            if known == nil, status == 404 { return .notFound(.venocix, detail: message) }
            return .rejected(.venocix, status: status, code: code?.hasPrefix("0x") == true ? code : nil, detail: message)
        }
    }
}
