import AgentCore
import Crypto
import Foundation
import SwiftASN1
import X509

/// The agent's API credentials on the embedded default: a random 256-bit bearer token and a self-signed
/// certificate, created in the state directory on first start and reused afterwards.
public enum AgentIdentity {
    /// Paths and the SHA-256 fingerprint of the certificate the API listener presents.
    public struct CertificateFiles: Sendable {
        public var certificatePath: String
        public var keyPath: String
        public var fingerprint: String
        public var notValidAfter: Date
        /// True when this call generated the files.
        public var created: Bool
    }

    /// Reads the token file, creating it (0600) with a fresh token when absent.
    public static func ensureToken(at path: String) throws -> (token: String, created: Bool) {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
            !existing.isEmpty
        {
            return (existing, false)
        }
        return (try rotateToken(at: path), true)
    }

    /// Writes a fresh random 256-bit token (64 hex digits) atomically and returns it.
    @discardableResult
    public static func rotateToken(at path: String) throws -> String {
        let token = SymmetricKey(size: .bits256).withUnsafeBytes { bytes in bytes.map { String(format: "%02x", $0) }.joined() }
        try AtomicFile.write(Data((token + "\n").utf8), to: path)
        return token
    }

    /// The configured certificate, or the generated self-signed one in `directory` (created when absent).
    public static func ensureCertificate(configuration: AgentConfiguration) throws -> CertificateFiles {
        if let certificatePath = configuration.api.tlsCertificateFile, let keyPath = configuration.api.tlsKeyFile {
            let certificate = try loadCertificate(certificatePath)
            return CertificateFiles(
                certificatePath: certificatePath, keyPath: keyPath, fingerprint: try fingerprint(certificate),
                notValidAfter: certificate.notValidAfter, created: false)
        }
        let directory = configuration.tlsDirectory
        let certificatePath = "\(directory)/agent.crt"
        let keyPath = "\(directory)/agent.key"
        if FileManager.default.fileExists(atPath: certificatePath), FileManager.default.fileExists(atPath: keyPath) {
            let certificate = try loadCertificate(certificatePath)
            return CertificateFiles(
                certificatePath: certificatePath, keyPath: keyPath, fingerprint: try fingerprint(certificate),
                notValidAfter: certificate.notValidAfter, created: false)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        let certificate = try selfSignedCertificate(key: key, hostNames: ["localhost", hostName()], addresses: ["127.0.0.1", "::1"])
        try AtomicFile.write(Data(key.pemRepresentation.utf8), to: keyPath)
        try AtomicFile.write(Data(try certificate.serializeAsPEM().pemString.utf8), to: certificatePath, mode: 0o644)
        return CertificateFiles(
            certificatePath: certificatePath, keyPath: keyPath, fingerprint: try fingerprint(certificate),
            notValidAfter: certificate.notValidAfter, created: true)
    }

    /// A self-signed server certificate valid for five years. It is its own trust anchor (CA:TRUE, path length 0)
    /// so that clients can trust it as a root (`curl --cacert`, BoringSSL-based clients) as well as pin its fingerprint.
    public static func selfSignedCertificate(key: P256.Signing.PrivateKey, hostNames: [String], addresses: [String]) throws -> Certificate {
        let name = try DistinguishedName {
            OrganizationName("RackAgent")
            CommonName(hostNames.first ?? "rackagent")
        }
        let now = Date()
        var alternativeNames: [GeneralName] = hostNames.map { .dnsName($0) }
        alternativeNames += addresses.compactMap(IPAddress.init).map { .ipAddress(ASN1OctetString(contentBytes: $0.bytes[...])) }
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(5 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
            },
            issuerPrivateKey: .init(key))
    }

    public static func loadCertificate(_ path: String) throws -> Certificate {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AgentError.internalError("cannot read certificate \(path): \(error.localizedDescription)")
        }
        return try Certificate(pemEncoded: text)
    }

    /// SHA-256 over the DER encoding, as colon-separated upper-case hex (what `openssl x509 -fingerprint -sha256` prints).
    public static func fingerprint(_ certificate: Certificate) throws -> String {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    static func hostName() -> String {
        ProcessInfo.processInfo.hostName.isEmpty ? "rackagent" : ProcessInfo.processInfo.hostName
    }
}
