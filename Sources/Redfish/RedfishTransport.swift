import AgentCore
import AsyncHTTPClient
import Crypto
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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

/// Sends requests to a BMC. The agent's transport is AsyncHTTPClient; tests may put any peer behind it.
public protocol RedfishTransport: Sendable {
    /// Sends `request` to the connection's origin. Over https, `trusting` is the only certificate accepted (the
    /// pinned or first-seen one); nothing else, not even a certificate a public CA signed, gets the credentials.
    func send(_ request: RedfishHTTPRequest, to connection: RedfishConnection, trusting: PresentedCertificate?, timeout: Duration) async throws
        -> RedfishHTTPResponse
    /// The certificate the BMC presents in a TLS handshake that sends nothing else (trust on first use, pin checks).
    func presentedCertificate(of connection: RedfishConnection, timeout: Duration) async throws -> PresentedCertificate
}

/// The transport on AsyncHTTPClient and swift-nio-ssl.
public struct HTTPClientRedfishTransport: RedfishTransport {
    /// BMC answers are small; a larger one is not an answer the agent reads.
    static let maximumBodyBytes = 8 * 1024 * 1024

    /// Redirects are not followed: the session token must not travel to another host.
    static let client: HTTPClient = {
        let configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init() {}

    public func send(
        _ request: RedfishHTTPRequest, to connection: RedfishConnection, trusting certificate: PresentedCertificate?, timeout: Duration
    ) async throws -> RedfishHTTPResponse {
        var outgoing = HTTPClientRequest(url: connection.origin + request.path)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        if connection.scheme == .https {
            guard let certificate else { throw RedfishError.unreachable(bmc: connection.address, detail: "no trusted certificate for the TLS connection") }
            var tls = TLSConfiguration.makeClientConfiguration()
            // BMCs are addressed by IP with self-signed certificates: the pinned certificate is the trust anchor, names are not checked.
            tls.trustRoots = .certificates([try NIOSSLCertificate(bytes: certificate.der, format: .der)])
            tls.certificateVerification = .noHostnameVerification
            outgoing.tlsConfiguration = tls
        }
        // One deadline for the headers and the body together: a BMC that sends headers and then stalls the body must not
        // hold the BMC's turn (AsyncHTTPClient's own deadline ends with the headers).
        let address = connection.address
        let prepared = outgoing
        return try await withDeadline(timeout, timeoutError: { RedfishError.timeout(bmc: address, seconds: timeout.inSeconds) }) {
            let response: HTTPClientResponse
            do {
                response = try await Self.client.execute(prepared, timeout: .nanoseconds(Int64(timeout.inSeconds * 1e9)))
            } catch {
                throw Self.classify(error, bmc: address, seconds: timeout.inSeconds)
            }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: Self.maximumBodyBytes)
            } catch {
                throw RedfishError.malformedAnswer(bmc: address, detail: "the answer's body could not be read: \(Self.describe(error))")
            }
            return RedfishHTTPResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer: body))
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

    /// Only failures that happen before a request can have been sent are `unreachable` (the device untouched): no
    /// connection, a refused or unroutable connect, a TLS handshake that failed. Anything else (a reset connection, a TLS
    /// error mid-stream, a timeout) may have come after the BMC took the request.
    static func classify(_ error: any Error, bmc: String, seconds: Double) -> any Error {
        if error is CancellationError { return error }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout:
                return RedfishError.unreachable(bmc: bmc, detail: describe(error))
            case .readTimeout, .deadlineExceeded, .writeTimeout:
                return RedfishError.timeout(bmc: bmc, seconds: seconds)
            default:
                return RedfishError.malformedAnswer(bmc: bmc, detail: "the connection failed after the request: \(describe(error))")
            }
        }
        if error is NIOConnectionError { return RedfishError.unreachable(bmc: bmc, detail: describe(error)) }
        if let io = error as? IOError, [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(io.errnoCode) {
            return RedfishError.unreachable(bmc: bmc, detail: describe(error))
        }
        if let tls = error as? NIOSSLError, case .handshakeFailed = tls { return RedfishError.unreachable(bmc: bmc, detail: describe(error)) }
        return RedfishError.malformedAnswer(bmc: bmc, detail: "the connection failed: \(describe(error))")
    }

    static func describe(_ error: any Error) -> String {
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout: return "timed out"
            case .connectTimeout, .getConnectionFromPoolTimeout: return "no connection within the timeout"
            case .remoteConnectionClosed: return "connection closed by the BMC"
            default: return "\(client)"
            }
        }
        return String("\(error)".prefix(300))
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
