import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificate a test BMC presents, of the kinds real BMCs ship.
public enum BMCCertificateKind: Sendable {
    /// Self-signed and valid today.
    case selfSigned
    /// Self-signed and expired years ago, as a factory certificate on an old BMC is.
    case expired
    /// Issued by the site's own CA (the chain is sent, the CA is nowhere in the agent's trust store).
    case issuedByPrivateCA
}

/// A certificate and its key as PEM files for a TLS server, and the SHA-256 fingerprint of its leaf as the agent
/// prints it.
public struct BMCCertificate: Sendable {
    public let certificateChainPEM: String
    public let privateKeyPEM: String
    public let fingerprint: String

    public init(_ kind: BMCCertificateKind) throws {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName("bmc.test") }
        let now = Date()
        let leafExtensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
        }
        let leaf: Certificate
        var chain: [Certificate] = []
        switch kind {
        case .selfSigned, .expired:
            let (notBefore, notAfter) = kind == .expired
                ? (now.addingTimeInterval(-3 * 365 * 86_400), now.addingTimeInterval(-365 * 86_400))
                : (now.addingTimeInterval(-300), now.addingTimeInterval(2 * 86_400))
            leaf = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: notBefore, notValidAfter: notAfter,
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: leafExtensions, issuerPrivateKey: .init(key))
        case .issuedByPrivateCA:
            let authorityKey = P256.Signing.PrivateKey()
            let authorityName = try DistinguishedName { CommonName("Site CA") }
            let authority = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(authorityKey.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(2 * 86_400),
                issuer: authorityName, subject: authorityName, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true))
                },
                issuerPrivateKey: .init(authorityKey))
            leaf = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(2 * 86_400),
                issuer: authorityName, subject: subject, signatureAlgorithm: .ecdsaWithSHA256, extensions: leafExtensions,
                issuerPrivateKey: .init(authorityKey))
            chain = [authority]
        }
        certificateChainPEM = try ([leaf] + chain).map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
        privateKeyPEM = key.pemRepresentation + "\n"
        var serializer = DER.Serializer()
        try serializer.serialize(leaf)
        fingerprint = SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}
