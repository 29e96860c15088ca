import AgentCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A request body read once, within the size limit: decoded for the handler and fingerprinted for
/// idempotency.
public struct RequestPayload: Sendable {
    public let bytes: [UInt8]
    public let idempotencyKey: String?
    public let fingerprint: String

    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

    /// Reads the body (413 beyond `limit`).
    public static func read(_ request: Request, limit: Int) async throws -> RequestPayload {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw AgentError.contentTooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw AgentError.contentTooLarge(limit: limit)
        }
        let bytes = Array(buffer.readableBytesView)
        let key = request.headers[idempotencyHeader]?.trimmingCharacters(in: .whitespaces)
        if let key, key.isEmpty || key.count > 255 {
            throw AgentError.invalidField("Idempotency-Key", "must be 1 to 255 characters")
        }
        return RequestPayload(
            bytes: bytes, idempotencyKey: key,
            fingerprint: JobRequest.fingerprint(method: request.method.rawValue, path: request.uri.path, body: bytes))
    }

    /// Decodes the body as JSON. An empty body decodes as `{}` so bodies whose fields are all optional may be omitted.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let data = bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) ? Data("{}".utf8) : Data(bytes)
        do {
            return try JSONCoding.decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw AgentError.from(error)
        }
    }
}

extension Request {
    /// A query parameter parsed as an integer within `range`, or `defaultValue` when absent; 400 otherwise.
    func integerQuery(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = uri.queryParameters.get(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw AgentError.invalidField(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func stringQuery(_ name: String) -> String? {
        uri.queryParameters.get(name)
    }
}

extension AgentRequestContext {
    /// A path parameter that the route guarantees, percent-decoded once, here, for every route: PHP's `rawurlencode`
    /// and JavaScript's `encodeURIComponent` send `52%3A54%3A00%3A12%3A34%3A56` for a MAC.
    public func pathParameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name) else { throw AgentError.missingField(name) }
        return try Self.decodedPathComponent(raw, field: name)
    }

    /// The rest of a `/**` path, each segment percent-decoded; a segment that decodes to a `/`, `..` or a control
    /// character is refused, so encoding cannot smuggle a path out of its directory.
    public func pathRemainder(field: String = "path") throws -> String {
        try parameters.getCatchAll().map { segment in
            let decoded = try Self.decodedPathComponent(String(segment), field: field)
            guard !decoded.contains("/"), decoded != "..", decoded != "." else { throw AgentError.invalidField(field, "not a plain path segment") }
            return decoded
        }.joined(separator: "/")
    }

    static func decodedPathComponent(_ raw: String, field: String) throws -> String {
        guard raw.contains("%") else { return raw }
        guard let decoded = raw.removingPercentEncoding else { throw AgentError.invalidField(field, "malformed percent-encoding") }
        try Validation.noControlCharacters(decoded, field: field)
        return decoded
    }
}
