import AgentCore
import Crypto
import Foundation
import Logging
import Metrics
import Synchronization

/// A Redfish answer: status, headers and the JSON body (when there is one).
public struct RedfishAnswer: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: JSONValue?

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
}

/// Talks to Redfish services the way a careful operator would:
/// - one request at a time per BMC, a minimum gap between two, a global bound (``DeviceTurns``);
/// - TLS only with the pinned or first-seen certificate of that BMC;
/// - a session (`X-Auth-Token`) when the service offers SessionService, Basic authentication otherwise; a 401 on a
///   session logs in again once;
/// - 503 (busy) retried with backoff a bounded number of times (the BMC did not process the request);
/// - every request bounded by a timeout; no credential or token ever in a log line or error.
public final class RedfishClient: Sendable {
    let transport: any RedfishTransport
    let trust: any RedfishCertificateTrust
    public let settings: RedfishConfiguration
    let logger: Logger
    private let turns: DeviceTurns
    private let certificates = Mutex<[String: PresentedCertificate]>([:])
    private let authentication = Mutex<[String: Authentication]>([:])
    /// The connection each session key was last used with, so that ``logOutAll(within:)`` can end the sessions.
    private let sessionConnections = Mutex<[String: RedfishConnection]>([:])
    private let durationTimer = Timer(label: "rackagent_redfish_request_duration_seconds")
    /// One account change at a time per BMC: a slot picked from a listing must still be free when it is filled.
    let accountChanges = KeyedLocks()

    /// How a BMC wants to be authenticated, learnt from its service root.
    enum Authentication: Sendable {
        case basic
        /// The sessions collection, and the token and address (`Location`) of the current session once logged in.
        case session(collection: String, token: Secret?, location: String?)
    }

    public init(transport: any RedfishTransport, trust: any RedfishCertificateTrust, settings: RedfishConfiguration, logger: Logger) {
        self.transport = transport
        self.trust = trust
        self.settings = settings
        self.logger = logger
        turns = DeviceTurns(minimumGapSeconds: settings.minimumGapSeconds, maximumConcurrent: settings.maxConcurrentRequests)
    }

    /// GET `path`; a status other than 2xx is an error.
    public func get(_ path: String, on connection: RedfishConnection) async throws -> RedfishAnswer {
        try await request(RedfishHTTPRequest(method: .GET, path: path), on: connection)
    }

    /// POST `body` (an action) to `path`.
    public func post(_ path: String, body: JSONValue, on connection: RedfishConnection) async throws -> RedfishAnswer {
        try await request(RedfishHTTPRequest(method: .POST, path: path, headers: [("Content-Type", "application/json")], body: Array(body.jsonText.utf8)),
                          on: connection)
    }

    /// PATCH `body` to `path`, with `If-Match` when the resource's ETag is known (some BMCs require it).
    public func patch(_ path: String, body: JSONValue, etag: String?, on connection: RedfishConnection) async throws -> RedfishAnswer {
        var headers = [("Content-Type", "application/json")]
        if let etag { headers.append(("If-Match", etag)) }
        return try await request(RedfishHTTPRequest(method: .PATCH, path: path, headers: headers, body: Array(body.jsonText.utf8)), on: connection)
    }

    /// Sends `request` in the BMC's turn, with authentication, 503 retries and one fresh login after a 401.
    public func request(_ request: RedfishHTTPRequest, on connection: RedfishConnection) async throws -> RedfishAnswer {
        guard RedfishPath.checked(request.path) == request.path else {
            throw RedfishError.malformedAnswer(bmc: connection.address, detail: "refusing to request \(request.path.prefix(100).debugDescription): not a path of the service")
        }
        // A BMC's error text may echo a value it refused (a new password): every secret of the exchange is masked in it.
        let redactor = Redactor(secrets: [connection.password] + Self.secrets(in: request.body))
        func message(_ response: RedfishHTTPResponse) -> String? { Self.errorMessage(response).map(redactor.redact) }
        var attempt = 0
        var loggedInAgain = false
        while true {
            attempt += 1
            let (response, token) = try await turns.withTurn(on: connection.address) {
                try await self.authenticatedSend(request, on: connection)
            }
            switch response.status {
            case 200..<300:
                return RedfishAnswer(status: response.status, headers: response.headers, body: Self.json(response.body))
            case 401 where !loggedInAgain:
                // A session that expired on the BMC: log in again, once.
                loggedInAgain = true
                forgetSession(connection, refused: token)
                logger.debug("Redfish session refused, logging in again", metadata: ["bmc": "\(connection.address)"])
                continue
            case 401:
                throw RedfishError.authenticationFailed(bmc: connection.address, detail: message(response) ?? "401 Unauthorized")
            case 503, 429:
                guard attempt <= settings.busyRetries else { throw RedfishError.busy(bmc: connection.address, attempts: attempt) }
                try await Task.sleep(for: Self.backoff(attempt, retryAfter: response.header("Retry-After")))
                continue
            case 400..<500:
                throw RedfishError.refused(bmc: connection.address, status: response.status, message: message(response) ?? "HTTP \(response.status)")
            case 300..<400:
                throw RedfishError.malformedAnswer(bmc: connection.address, detail: "HTTP \(response.status): a redirect, not followed")
            default:
                throw RedfishError.serverError(bmc: connection.address, status: response.status, message: message(response) ?? "no error message")
            }
        }
    }

    /// The `Password` values in a request body (a new account's password).
    static func secrets(in body: [UInt8]?) -> [Secret] {
        guard let body, let document = json(body), let password = document["Password"]?.stringValue, !password.isEmpty else { return [] }
        return [Secret(password)]
    }

    /// One exchange: the certificate checked, credentials attached (logging in first when the service uses sessions).
    /// Returns the answer and the session token it was sent with.
    private func authenticatedSend(_ request: RedfishHTTPRequest, on connection: RedfishConnection) async throws -> (RedfishHTTPResponse, Secret?) {
        let certificate = try await trustedCertificate(connection)
        var outgoing = request
        outgoing.headers.append(("Accept", "application/json"))
        var used: Secret?
        switch try await authenticationMode(connection, certificate: certificate) {
        case .basic:
            let credentials = Data("\(connection.username):\(connection.password.revealed)".utf8).base64EncodedString()
            outgoing.headers.append(("Authorization", "Basic " + credentials))
        case .session(let collection, let token, _):
            let current: Secret
            if let token { current = token } else { current = try await login(connection, collection: collection, certificate: certificate) }
            outgoing.headers.append(("X-Auth-Token", current.revealed))
            used = current
        }
        return (try await send(outgoing, connection, certificate), used)
    }

    private func send(_ request: RedfishHTTPRequest, _ connection: RedfishConnection, _ certificate: PresentedCertificate?) async throws -> RedfishHTTPResponse {
        let started = ContinuousClock.now
        defer { durationTimer.recordSeconds((ContinuousClock.now - started).inSeconds) }
        let timeout = Duration.seconds(connection.timeoutSeconds ?? settings.requestTimeoutSeconds)
        do {
            return try await transport.send(request, to: connection, trusting: certificate, timeout: timeout)
        } catch RedfishError.unreachable(let bmc, let detail) where certificate != nil && !Task.isCancelled {
            // A handshake that failed with the trusted certificate: the BMC may present another one now. Say so precisely.
            certificates.withLock { _ = $0.removeValue(forKey: connection.address) }
            if let presented = try? await transport.presentedCertificate(of: connection, timeout: timeout), let certificate,
                presented.fingerprint != certificate.fingerprint {
                throw RedfishError.certificateMismatch(bmc: bmc, expected: certificate.fingerprint, presented: presented.fingerprint)
            }
            throw RedfishError.unreachable(bmc: bmc, detail: detail)
        }
    }

    /// The certificate this BMC must present: pinned by the connection, else remembered, else the first one seen.
    private func trustedCertificate(_ connection: RedfishConnection) async throws -> PresentedCertificate? {
        guard connection.scheme == .https else { return nil }
        if let known = certificates.withLock({ $0[connection.address] }), connection.certificateSHA256 == nil || known.fingerprint == connection.certificateSHA256 {
            return known
        }
        let timeout = Duration.seconds(connection.timeoutSeconds ?? settings.requestTimeoutSeconds)
        let presented = try await transport.presentedCertificate(of: connection, timeout: timeout)
        if let pinned = connection.certificateSHA256 {
            guard presented.fingerprint == pinned else {
                throw RedfishError.certificateMismatch(bmc: connection.address, expected: pinned, presented: presented.fingerprint)
            }
        } else {
            guard settings.certificatePolicy == .trustOnFirstUse else {
                throw AgentError.invalidField("connection.meta.certificateSha256", "required for \(connection.address) (redfish.certificatePolicy is pinned)")
            }
            if let remembered = try await trust.remembered(for: connection.address) {
                guard remembered == presented.fingerprint else {
                    throw RedfishError.certificateMismatch(bmc: connection.address, expected: remembered, presented: presented.fingerprint)
                }
            } else {
                try await trust.remember(presented.fingerprint, for: connection.address)
                // Another process (the daemon, the command line) may have remembered a different one first.
                let kept = try await trust.remembered(for: connection.address)
                guard kept == presented.fingerprint else {
                    throw RedfishError.certificateMismatch(bmc: connection.address, expected: kept ?? "none", presented: presented.fingerprint)
                }
                logger.notice("Redfish certificate trusted on first use", metadata: ["bmc": "\(connection.address)", "sha256": "\(presented.fingerprint)"])
            }
        }
        certificates.withLock { $0[connection.address] = presented }
        return presented
    }

    /// Key of a BMC's session: sessions belong to one account and password, so a connection with another password never
    /// rides on a session someone else opened.
    private func sessionKey(_ connection: RedfishConnection) -> String {
        connection.address + " " + connection.username + " " + SHA256.hash(data: Data(connection.password.revealed.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads the service root (which needs no authentication) once per BMC and account.
    private func authenticationMode(_ connection: RedfishConnection, certificate: PresentedCertificate?) async throws -> Authentication {
        if let known = authentication.withLock({ $0[sessionKey(connection)] }) { return known }
        let response = try await send(RedfishHTTPRequest(method: .GET, path: RedfishPath.root, headers: [("Accept", "application/json")]), connection, certificate)
        guard (200..<300).contains(response.status), let root = Self.json(response.body) else {
            throw RedfishError.malformedAnswer(bmc: connection.address, detail: "the service root answered HTTP \(response.status) without a JSON document")
        }
        let mode = ServiceRoot(root).sessionsPath.map { Authentication.session(collection: $0, token: nil, location: nil) } ?? .basic
        authentication.withLock { $0[sessionKey(connection)] = mode }
        return mode
    }

    /// Creates a session; the token is kept for the BMC and account until a 401 says it expired.
    private func login(_ connection: RedfishConnection, collection: String, certificate: PresentedCertificate?) async throws -> Secret {
        let body: JSONValue = ["UserName": .string(connection.username), "Password": .string(connection.password.revealed)]
        let response = try await send(
            RedfishHTTPRequest(method: .POST, path: collection, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                               body: Array(body.jsonText.utf8)), connection, certificate)
        switch response.status {
        case 200..<300:
            guard let token = response.header("X-Auth-Token"), !token.isEmpty else {
                throw RedfishError.malformedAnswer(bmc: connection.address, detail: "the session was created without an X-Auth-Token")
            }
            let secret = Secret(token)
            let location = response.header("Location").flatMap(Self.locationPath)
            authentication.withLock { $0[sessionKey(connection)] = .session(collection: collection, token: secret, location: location) }
            if location != nil { sessionConnections.withLock { $0[sessionKey(connection)] = connection } }
            return secret
        case 401, 403:
            throw RedfishError.authenticationFailed(bmc: connection.address, detail: Self.errorMessage(response) ?? "HTTP \(response.status)")
        case 503, 429:
            throw RedfishError.busy(bmc: connection.address, attempts: 1)
        default:
            throw RedfishError.malformedAnswer(bmc: connection.address, detail: "login answered HTTP \(response.status)")
        }
    }

    /// Drops the session the BMC refused; a newer one another request logged in with meanwhile is kept.
    private func forgetSession(_ connection: RedfishConnection, refused: Secret?) {
        authentication.withLock { modes in
            if case .session(let collection, let token, _) = modes[sessionKey(connection)], token == refused {
                modes[sessionKey(connection)] = .session(collection: collection, token: nil, location: nil)
            }
        }
    }

    /// Ends every session this client holds, each BMC at the same time, for at most `limit` (an unreachable BMC must
    /// not hold up the agent's shutdown); what is not ended by then expires on the BMC.
    public func logOutAll(within limit: Duration) async {
        let connections = sessionConnections.withLock { known in
            defer { known.removeAll() }
            return Array(known.values)
        }
        guard !connections.isEmpty else { return }
        // Not a task group the caller waits on: a connect in flight ignores cancellation, and the bound must hold.
        let work = Task {
            await withTaskGroup(of: Void.self) { group in
                for connection in connections { group.addTask { await self.logOut(connection) } }
            }
        }
        let (ended, signal) = AsyncStream<Void>.makeStream()
        let watcher = Task {
            await work.value
            signal.finish()
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            signal.finish()
        }
        for await _ in ended {}
        work.cancel()
        watcher.cancel()
        timer.cancel()
    }

    /// Ends the sessions this client opened (BMCs allow few at a time): the command line does it before it exits,
    /// the daemon at shutdown.
    public func logOut(_ connection: RedfishConnection) async {
        let open = authentication.withLock { modes -> (Secret, String)? in
            guard case .session(let collection, let token?, let location?) = modes[sessionKey(connection)] else { return nil }
            modes[sessionKey(connection)] = .session(collection: collection, token: nil, location: nil)
            return (token, location)
        }
        guard let (token, location) = open else { return }
        do {
            let certificate = try await trustedCertificate(connection)
            _ = try await turns.withTurn(on: connection.address) {
                try await self.send(RedfishHTTPRequest(method: .DELETE, path: location, headers: [("X-Auth-Token", token.revealed)]), connection, certificate)
            }
        } catch {
            logger.notice("Redfish session could not be closed", metadata: ["bmc": "\(connection.address)", "error": "\(AgentError.from(error).message)"])
        }
    }

    /// The path of a `Location` header (an absolute URL or a path), checked.
    static func locationPath(_ location: String) -> String? {
        if location.hasPrefix("/") { return RedfishPath.checked(location) }
        return URLComponents(string: location).flatMap { RedfishPath.checked($0.path) }
    }

    /// 0.5 s, 1 s, 2 s ... capped at 8 s with up to 25 % jitter; a `Retry-After` of up to 10 s is honoured instead.
    static func backoff(_ attempt: Int, retryAfter: String?) -> Duration {
        if let retryAfter, let seconds = Double(retryAfter.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .seconds(min(seconds, 10)) }
        return .seconds(min(0.5 * pow(2, Double(attempt - 1)), 8) * Double.random(in: 1...1.25))
    }

    /// The body as JSON, or nil (an empty 204, or text).
    static func json(_ body: [UInt8]) -> JSONValue? {
        guard !body.isEmpty else { return nil }
        return try? JSONCoding.decoder.decode(JSONValue.self, from: Data(body))
    }

    /// The message of a Redfish error body (`error.@Message.ExtendedInfo[0].Message`, else `error.message`), shortened.
    static func errorMessage(_ response: RedfishHTTPResponse) -> String? {
        guard let error = json(response.body)?["error"] else { return nil }
        let extended = error["@Message.ExtendedInfo"].flatMap { info -> String? in
            guard case .array(let entries) = info else { return nil }
            let messages = entries.compactMap { $0["Message"]?.stringValue }
            return messages.isEmpty ? nil : messages.joined(separator: "; ")
        }
        return (extended ?? error["message"]?.stringValue).map { String($0.prefix(300)) }
    }
}
