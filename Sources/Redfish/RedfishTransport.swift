import AgentCore
import Crypto
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// One HTTP request to a Redfish service, by path under the connection's origin.
public struct RedfishHTTPRequest: Sendable {
    public enum Method: String, Sendable { case GET, POST, PATCH, DELETE }

    public var method: Method
    /// `/redfish/v1/...`
    public var path: String
    public var headers: [(String, String)]
    public var body: [UInt8]?

    public init(method: Method, path: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// A Redfish service's answer.
public struct RedfishHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }
}

/// The certificate a BMC presented (DER) and its SHA-256 fingerprint.
public struct PresentedCertificate: Sendable, Equatable {
    public var der: [UInt8]
    public var fingerprint: String

    public init(der: [UInt8], fingerprint: String) {
        self.der = der
        self.fingerprint = fingerprint
    }
}

/// Sends requests to a BMC. The agent's transport is ``NIORedfishTransport``; tests may put any peer behind it.
public protocol RedfishTransport: Sendable {
    /// Sends `request` to the connection's origin. Over https, `trusting` is the only certificate accepted (the
    /// pinned or first-seen one); nothing else, not even a certificate a public CA signed, gets the credentials.
    func send(_ request: RedfishHTTPRequest, to connection: RedfishConnection, trusting: PresentedCertificate?, timeout: Duration) async throws
        -> RedfishHTTPResponse
    /// The certificate the BMC presents in a TLS handshake that sends nothing else (trust on first use, pin checks).
    func presentedCertificate(of connection: RedfishConnection, timeout: Duration) async throws -> PresentedCertificate
}

/// The transport on swift-nio and swift-nio-ssl: one connection per request, closed after the answer.
///
/// Not AsyncHTTPClient: its TLS configuration can only name trust anchors, and BoringSSL still checks a trusted
/// certificate's validity dates and chain. A BMC's certificate is very often expired (firmware ships one made at the
/// factory) or issued by the site's own CA with the leaf pinned; either made every request fail. Here a verification
/// callback replaces BoringSSL's checks entirely: the leaf's SHA-256 equal to the pinned or first-seen fingerprint is
/// the whole verdict, as a switch's SSH host key is. Redirects are not followed (the session token must not travel to
/// another host), and a connection per request keeps no socket open to a BMC between the agent's commands.
public struct NIORedfishTransport: RedfishTransport {
    /// BMC answers are small; a larger one is not an answer the agent reads.
    static let maximumBodyBytes = 8 * 1024 * 1024

    public init() {}

    public func send(
        _ request: RedfishHTTPRequest, to connection: RedfishConnection, trusting certificate: PresentedCertificate?, timeout: Duration
    ) async throws -> RedfishHTTPResponse {
        let address = connection.address
        let pin: String?
        if connection.scheme == .https {
            guard let certificate else { throw RedfishError.unreachable(bmc: address, detail: "no trusted certificate for the TLS connection") }
            pin = certificate.fingerprint
        } else {
            pin = nil
        }
        let exchange = RedfishExchange(request: request, connection: connection, pin: pin)
        // One deadline for connecting, the headers and the body together: a BMC that sends headers and then stalls the
        // body must not hold the BMC's turn. Run out before the request could be written, the BMC is untouched.
        return try await withDeadline(timeout, timeoutError: {
            exchange.progress.isBeforeRequest
                ? RedfishError.unreachable(bmc: address, detail: "no TLS handshake within \(timeout.inSeconds) s")
                : RedfishError.timeout(bmc: address, seconds: timeout.inSeconds)
        }) {
            try await exchange.run(connectTimeout: min(timeout, .seconds(10)))
        }
    }

    public func presentedCertificate(of connection: RedfishConnection, timeout: Duration) async throws -> PresentedCertificate {
        do {
            return try await CertificateProbe.presentedCertificate(host: connection.host, port: connection.port, timeout: timeout)
        } catch let error as RedfishError {
            throw error
        } catch {
            throw RedfishError.unreachable(bmc: connection.address, detail: "TLS handshake: \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        String("\(error)".prefix(300))
    }
}

/// One request and its answer over a connection of its own.
struct RedfishExchange: Sendable {
    let request: RedfishHTTPRequest
    let connection: RedfishConnection
    /// The fingerprint the BMC's leaf certificate must have (https); nil for http.
    let pin: String?
    let progress = ProgressMark()

    /// What the exchange got to before it failed: only a failure before the request could have reached the BMC may call
    /// the device untouched.
    enum Progress: Sendable { case connecting, handshaking, refusedCertificate(presented: String), requestMaySend }

    /// The exchange's progress, set on the event loop and read by the task.
    final class ProgressMark: Sendable {
        private let state = Mutex(Progress.connecting)
        var current: Progress { state.withLock { $0 } }
        var isBeforeRequest: Bool {
            if case .requestMaySend = current { return false }
            return true
        }
        func set(_ progress: Progress) { state.withLock { $0 = progress } }
    }

    func run(connectTimeout: Duration) async throws -> RedfishHTTPResponse {
        let address = connection.address
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await makeChannel(progress: progress, connectTimeout: connectTimeout)
        } catch {
            if error is CancellationError { throw error }
            throw RedfishError.unreachable(bmc: address, detail: NIORedfishTransport.describe(error))
        }
        // A BMC that takes the connection and never finishes the handshake is unreachable after the connect timeout, not
        // after the whole request's.
        let progress = progress
        let underlying = channel.channel
        let handshakeDeadline = underlying.eventLoop.scheduleTask(in: .nanoseconds(Int64(connectTimeout.inSeconds * 1e9))) {
            if progress.isBeforeRequest { underlying.close(promise: nil) }
        }
        defer { handshakeDeadline.cancel() }
        do {
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(contentsOf: requestParts())
                return try await Self.readAnswer(inbound, bmc: address)
            }
        } catch {
            throw Self.classify(error, progress: progress.current, bmc: address)
        }
    }

    private func makeChannel(progress: ProgressMark, connectTimeout: Duration) async throws
        -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
    {
        let context: NIOSSLContext? = try pin.map { _ in
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .noHostnameVerification
            // The verification callback decides; no system trust store is read for nothing.
            configuration.trustRoots = .certificates([])
            return try NIOSSLContext(configuration: configuration)
        }
        let pin = self.pin
        // SNI carries names only; an IP address is sent without it.
        let serverName = IPAddress(connection.host) == nil ? connection.host : nil
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(connectTimeout.inSeconds * 1e9)))
            .connect(host: connection.host, port: connection.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context, let pin {
                        progress.set(.handshaking)
                        let verification = try NIOSSLClientHandler(context: context, serverHostname: serverName) {
                            (certificates: [NIOSSLCertificate], promise: EventLoopPromise<NIOSSLVerificationResult>) in
                            let presented = (try? certificates.first?.toDERBytes()).flatMap { $0 }.map {
                                CertificateFingerprint.of(digest: SHA256.hash(data: $0))
                            }
                            if let presented, presented == pin {
                                promise.succeed(.certificateVerified)
                            } else {
                                progress.set(.refusedCertificate(presented: presented ?? "none"))
                                promise.succeed(.failed)
                            }
                        }
                        try channel.pipeline.syncOperations.addHandler(verification)
                        try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(progress: progress))
                    } else {
                        progress.set(.requestMaySend)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
    }

    private func requestParts() -> [HTTPClientRequestPart] {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method.rawValue), uri: request.path)
        let defaultPort = connection.scheme == .https ? 443 : 80
        let host = connection.host.contains(":") ? "[\(connection.host)]" : connection.host
        head.headers.add(name: "Host", value: connection.port == defaultPort ? host : "\(host):\(connection.port)")
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Connection", value: "close")
        var parts: [HTTPClientRequestPart] = []
        if let body = request.body {
            head.headers.add(name: "Content-Length", value: String(body.count))
            parts = [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)]
        } else {
            if request.method != .GET && request.method != .DELETE { head.headers.add(name: "Content-Length", value: "0") }
            parts = [.head(head), .end(nil)]
        }
        return parts
    }

    private static func readAnswer(_ inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>, bmc: String) async throws -> RedfishHTTPResponse {
        var head: HTTPResponseHead?
        var body = ByteBuffer()
        func answer(_ head: HTTPResponseHead) -> RedfishHTTPResponse {
            RedfishHTTPResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: Array(buffer: body))
        }
        do {
            for try await part in inbound {
                switch part {
                case .head(let received):
                    head = received
                case .body(var chunk):
                    guard body.readableBytes + chunk.readableBytes <= NIORedfishTransport.maximumBodyBytes else {
                        throw RedfishError.malformedAnswer(bmc: bmc, detail: "the answer is larger than \(NIORedfishTransport.maximumBodyBytes) bytes")
                    }
                    body.writeBuffer(&chunk)
                case .end:
                    if let head { return answer(head) }
                }
            }
        } catch NIOSSLError.uncleanShutdown where head.map(Self.endsWithTheConnection) == true {
            // An answer whose length is the connection's, from a BMC that closes without TLS close_notify: it is whole.
            if let head { return answer(head) }
        }
        throw RedfishError.malformedAnswer(bmc: bmc, detail: "the connection closed before the answer ended")
    }

    /// An answer with neither a length nor chunks: its body ends when the connection does.
    static func endsWithTheConnection(_ head: HTTPResponseHead) -> Bool {
        !head.headers.contains(name: "Content-Length") && !head.headers[canonicalForm: "Transfer-Encoding"].contains { $0.lowercased() == "chunked" }
    }

    /// A refused certificate or a failed handshake happened before the request was written, so the BMC is untouched;
    /// anything after (a reset connection, a TLS error mid-stream) may have come after the BMC took the request.
    static func classify(_ error: any Error, progress: Progress, bmc: String) -> any Error {
        if error is CancellationError || error is RedfishError { return error }
        switch progress {
        case .connecting, .handshaking:
            return RedfishError.unreachable(bmc: bmc, detail: "TLS handshake: \(NIORedfishTransport.describe(error))")
        case .refusedCertificate(let presented):
            return RedfishError.unreachable(bmc: bmc, detail: "the BMC presented a certificate with SHA-256 \(presented), not the trusted one")
        case .requestMaySend:
            return RedfishError.malformedAnswer(bmc: bmc, detail: "the connection failed after the request: \(NIORedfishTransport.describe(error))")
        }
    }
}

/// Marks the moment the TLS handshake completed: from then on the request may reach the BMC.
private final class HandshakeWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    let progress: RedfishExchange.ProgressMark

    init(progress: RedfishExchange.ProgressMark) {
        self.progress = progress
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            progress.set(.requestMaySend)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Reads the certificate a TLS server presents, and nothing more: the handshake is abandoned in the verification step,
/// before any request (or credential) could be sent.
enum CertificateProbe {
    static func presentedCertificate(host: String, port: Int, timeout: Duration) async throws -> PresentedCertificate {
        let captured = Mutex<[UInt8]?>(nil)
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: configuration)
        // SNI carries names only; an IP address is sent without it.
        let serverName = IPAddress(host) == nil ? host : nil
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(timeout.inSeconds * 1e9)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName) {
                        (certificates: [NIOSSLCertificate], promise: EventLoopPromise<NIOSSLVerificationResult>) in
                        captured.withLock { $0 = try? certificates.first?.toDERBytes() }
                        promise.succeed(NIOSSLVerificationResult.failed)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port).get()
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount.nanoseconds(Int64(timeout.inSeconds * 1e9))) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        deadline.cancel()
        guard let der = captured.withLock({ $0 }) else {
            throw RedfishError.unreachable(bmc: host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)", detail: "no certificate presented in the TLS handshake")
        }
        return PresentedCertificate(der: der, fingerprint: CertificateFingerprint.of(digest: SHA256.hash(data: der)))
    }
}
