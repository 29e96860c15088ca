import AgentCore
import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// An identifier from a provider's answer, checked before it becomes part of a request path: ASCII letters, digits,
/// `-` and `_`, 1 to 64 characters. An answer can then never send a request elsewhere (`../servers/...`, `?`, `%2F`).
public enum AnswerIdentifier {
    /// `value`, or a malformed-answer error naming `what` when it is not an identifier.
    public static func checked(_ value: String, _ what: String, from provider: ProviderType) throws -> String {
        let allowed = value.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
        guard allowed, (1...64).contains(value.count) else {
            throw ProviderError.malformedAnswer(provider, detail: "\(what) \(value.prefix(60).debugDescription) is not an identifier")
        }
        return value
    }
}

/// One HTTP request to a provider API.
public struct ProviderRequest: Sendable {
    public enum Method: String, Sendable { case GET, POST, PUT, DELETE }

    public var method: Method
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    /// A GET that changes state (CloudSigma's per-call table prints GET for start, stop and shutdown).
    public var changesState: Bool
    /// Whether repeating the request after an unclear failure is harmless (reads, and nothing else).
    public var idempotent: Bool { method == .GET && !changesState }

    public init(method: Method, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, changesState: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.changesState = changesState
    }
}

/// A provider's answer.
public struct ProviderResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends requests; a test may use a replay server through the real transport or any other implementation.
public protocol ProviderTransport: Sendable {
    func send(_ request: ProviderRequest, timeout: Duration) async throws -> ProviderResponse
}

/// The transport on AsyncHTTPClient (one client for the process, TLS through swift-nio-ssl).
public struct HTTPClientProviderTransport: ProviderTransport {
    /// Provider answers are small; anything larger is not an answer the agent reads.
    static let maximumBodyBytes = 16 * 1024 * 1024

    /// Redirects are not followed: a provider API answers where it is asked, and a redirect must not carry the
    /// account's token or password to another host.
    static let client: HTTPClient = {
        let configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init() {}

    public func send(_ request: ProviderRequest, timeout: Duration) async throws -> ProviderResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await Self.client.execute(outgoing, timeout: .nanoseconds(Int64(timeout.inSeconds * 1e9)))
        let body = try await response.body.collect(upTo: Self.maximumBodyBytes)
        return ProviderResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer: body))
    }
}

/// A token bucket per provider account: requests wait for a token; the provider's own rate-limit headers
/// (`X-Rate-Limit-Remaining`, `X-Rate-Limit-Reset`) and 429 answers empty it until the reset.
public actor TokenBucket {
    let ratePerSecond: Double
    let capacity: Double
    private var tokens: Double
    private var refilledAt: ContinuousClock.Instant
    private var blockedUntil: ContinuousClock.Instant?

    public init(ratePerSecond: Double, capacity: Double? = nil) {
        self.ratePerSecond = max(ratePerSecond, 0.01)
        self.capacity = max(capacity ?? ratePerSecond, 1)
        tokens = self.capacity
        refilledAt = .now
    }

    /// Waits until a request may go out, then takes a token.
    public func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            if let blockedUntil, blockedUntil > now {
                try await Task.sleep(until: blockedUntil, clock: .continuous)
                continue
            }
            tokens = min(capacity, tokens + (now - refilledAt).inSeconds * ratePerSecond)
            refilledAt = now
            if tokens >= 1 {
                tokens -= 1
                return
            }
            try await Task.sleep(for: .seconds((1 - tokens) / ratePerSecond))
        }
    }

    /// Blocks every request of the account for `seconds` (a 429, or no requests remaining).
    public func block(forSeconds seconds: Double) {
        let until = ContinuousClock.now + .seconds(max(seconds, 0))
        if blockedUntil.map({ until > $0 }) ?? true { blockedUntil = until }
        tokens = 0
    }

    /// Reads the provider's rate-limit headers after an answer.
    public func observe(remaining: Int?, resetSeconds: Double?) {
        guard let remaining, remaining <= 0 else { return }
        block(forSeconds: resetSeconds ?? 1 / ratePerSecond)
    }
}

/// Sends provider requests with the account's rate limit, timeouts and bounded retries: reads are retried on
/// 5xx and connection failures; every request is repeated after a 429 (the provider refused it, so nothing
/// happened); a state-changing request is never repeated after an unclear failure (the caller reads the state).
public struct ProviderHTTPClient: Sendable {
    public let provider: ProviderType
    let transport: any ProviderTransport
    let bucket: TokenBucket
    let timeout: Duration
    let maximumAttempts: Int
    let logger: Logger

    public init(provider: ProviderType, transport: any ProviderTransport, bucket: TokenBucket, timeout: Duration, maximumAttempts: Int = 4,
                logger: Logger) {
        self.provider = provider
        self.transport = transport
        self.bucket = bucket
        self.timeout = timeout
        self.maximumAttempts = maximumAttempts
        self.logger = logger
    }

    public func send(_ request: ProviderRequest) async throws -> ProviderResponse {
        var lastRetryAfter: Double?
        for attempt in 1...maximumAttempts {
            try await bucket.acquire()
            let started = DispatchTime.now()
            let response: ProviderResponse
            do {
                response = try await transport.send(request, timeout: timeout)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let detail = Self.describe(error)
                logger.warning("provider request failed", metadata: ["provider": "\(provider.rawValue)", "method": "\(request.method.rawValue)",
                                                                  "path": "\(Self.path(request.url))", "error": "\(detail)"])
                guard request.idempotent, attempt < maximumAttempts else {
                    throw ProviderError.unreachable(provider, detail: detail, ambiguous: !request.idempotent)
                }
                try await Task.sleep(for: Self.backoff(attempt))
                continue
            }
            Timer(label: "rackagent_provider_request_duration_seconds", dimensions: [("provider", provider.rawValue)])
                .recordInterval(since: started)
            Counter(label: "rackagent_provider_requests_total", dimensions: [("provider", provider.rawValue), ("status", String(response.status))])
                .increment()
            let remaining = response.header("X-Rate-Limit-Remaining").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let reset = (response.header("X-Rate-Limit-Reset") ?? response.header("Retry-After")).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            await bucket.observe(remaining: remaining, resetSeconds: reset)
            logger.debug("provider answered", metadata: [
                "provider": "\(provider.rawValue)", "method": "\(request.method.rawValue)", "path": "\(Self.path(request.url))",
                "status": "\(response.status)", "milliseconds": "\((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)",
            ])
            if response.status == 429 {
                Counter(label: "rackagent_provider_rate_limited_total", dimensions: [("provider", provider.rawValue)]).increment()
                lastRetryAfter = reset
                // Bounded: a provider asking for more than two minutes gets a rate-limited error instead.
                let wait = min(reset ?? Self.backoff(attempt).inSeconds, 120)
                await bucket.block(forSeconds: wait)
                if attempt < maximumAttempts, (reset ?? 0) <= 120 { continue }
                throw ProviderError.rateLimited(provider, retryAfterSeconds: reset)
            }
            if response.status >= 500, request.idempotent, attempt < maximumAttempts {
                try await Task.sleep(for: Self.backoff(attempt))
                continue
            }
            return response
        }
        throw ProviderError.rateLimited(provider, retryAfterSeconds: lastRetryAfter)
    }

    /// 0.25 s, 0.5 s, 1 s ... capped at 8 s, with up to 25 % jitter.
    static func backoff(_ attempt: Int) -> Duration {
        let base = min(0.25 * pow(2, Double(attempt - 1)), 8)
        return .seconds(base * Double.random(in: 1...1.25))
    }

    /// The URL's path for logs: no query (which could carry a filter) and no credentials.
    static func path(_ url: String) -> String {
        guard let components = URLComponents(string: url) else { return "?" }
        return components.path
    }

    static func describe(_ error: any Error) -> String {
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            case .remoteConnectionClosed: return "connection closed by the provider"
            default: return "\(client)"
            }
        }
        return "\(error)"
    }
}
