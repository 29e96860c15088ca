import AgentCore
import AsyncHTTPClient
import ControllerAPI
import Crypto
import Foundation
import Hummingbird
import NIOCore
import NIOSSL
import PeerHarness
import Synchronization
import X509

/// The controller and boot listeners of a ``TestAgent`` running for real on 127.0.0.1 (ephemeral ports).
final class LiveAgent: Sendable {
    let agent: TestAgent
    let embedded: EmbeddedAgent

    init(agent: TestAgent) async throws {
        self.agent = agent
        embedded = try await EmbeddedAgent.start(runtime: agent.runtime)
    }

    var apiPort: Int { embedded.apiPort }
    var bootPort: Int { embedded.bootPort }
    var certificate: AgentIdentity.CertificateFiles { embedded.certificate }
    var baseURL: String { embedded.apiBaseURL }

    /// Runs `body` with an HTTPS client that trusts the agent's certificate (optionally presenting a client
    /// certificate) and shuts the client down afterwards, also when `body` throws.
    func withClient<Value>(
        clientCertificate: (Certificate, P256.Signing.PrivateKey)? = nil, _ body: (HTTPClient) async throws -> Value
    ) async throws -> Value {
        let client = try makeClient(clientCertificate: clientCertificate)
        do {
            let value = try await body(client)
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func makeClient(clientCertificate: (Certificate, P256.Signing.PrivateKey)?) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificate.certificatePath)
        if let (certificate, key) = clientCertificate {
            let der = try DERBytes.of(certificate)
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: der, format: .der))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.derRepresentation), format: .der))
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func stop() async {
        await embedded.stop()
    }

    /// Starts `agent` for real, runs `body` with its boot listener's port, and stops it afterwards, also when `body`
    /// throws.
    static func withBootPort(of agent: TestAgent, _ body: (Int) async throws -> Void) async throws {
        let live = try await LiveAgent(agent: agent)
        do {
            try await body(live.bootPort)
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }
}

enum DERBytes {
    static func of(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

import SwiftASN1

/// A throwaway CA that signs client certificates for the mutual-TLS tests.
struct TestCertificateAuthority {
    let key = P256.Signing.PrivateKey()
    let certificate: Certificate
    let name: DistinguishedName

    init() throws {
        name = try DistinguishedName { CommonName("RackAgent Test CA") }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(key))
    }

    var pem: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    func issueClientCertificate(commonName: String) throws -> (Certificate, P256.Signing.PrivateKey) {
        let clientKey = P256.Signing.PrivateKey()
        let now = Date()
        let client = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(clientKey.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(86_400),
            issuer: name, subject: try DistinguishedName { CommonName(commonName) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
            },
            issuerPrivateKey: .init(key))
        return (client, clientKey)
    }
}

extension HTTPClient {
    /// GET with an optional bearer token; returns status and body text.
    func get(_ url: String, token: String?) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }
}
