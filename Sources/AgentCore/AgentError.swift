import Foundation

/// The one error shape the controller sees: an HTTP status, a stable machine-readable code, a human message
/// and structured details. Every domain error converts to it through ``AgentErrorConvertible``.
///
/// Rendered as the seed's failure envelope:
/// `{"result": "<message>", "message": "Exception", "error": {"code": "<code>", "details": {...}}}`.
public struct AgentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP statuses the agent answers with; each means one thing (DESIGN.md, "Controller API").
    public enum Status: Int, Sendable, Codable {
        case badRequest = 400
        case unauthorized = 401
        case notFound = 404
        case conflict = 409
        case contentTooLarge = 413
        case unprocessable = 422
        case internalError = 500
        case badGateway = 502
        case serviceUnavailable = 503
        case gatewayTimeout = 504
    }

    public var status: Status
    public var code: String
    public var message: String
    public var details: [String: JSONValue]

    public init(status: Status, code: String, message: String, details: [String: JSONValue] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code): \(message)" }
}

/// A domain error (IPMI, SNMP, SSH, provider ...) that knows its envelope form.
public protocol AgentErrorConvertible: Error {
    var agentError: AgentError { get }
}

extension AgentError: AgentErrorConvertible {
    public var agentError: AgentError { self }
}

extension AgentError {
    /// A request field has a value the agent refuses; `field` is its dotted path, e.g. `connection.meta.ip`.
    public static func invalidField(_ field: String, _ reason: String) -> AgentError {
        AgentError(status: .badRequest, code: "invalid_field", message: "\(field): \(reason)", details: ["field": .string(field)])
    }

    /// A required request field is absent.
    public static func missingField(_ field: String) -> AgentError {
        AgentError(status: .badRequest, code: "missing_field", message: "\(field): required", details: ["field": .string(field)])
    }

    /// The request body is not JSON at all.
    public static func malformedJSON(_ reason: String) -> AgentError {
        AgentError(status: .badRequest, code: "malformed_json", message: "request body is not valid JSON: \(reason)")
    }

    /// No object of this kind has this identifier.
    public static func notFound(_ kind: String, _ identifier: String) -> AgentError {
        AgentError(
            status: .notFound, code: "not_found", message: "\(kind) \(identifier) not found",
            details: ["kind": .string(kind), "id": .string(identifier)])
    }

    public static let unauthorized = AgentError(status: .unauthorized, code: "unauthorized", message: "authentication required")

    public static func conflict(_ code: String, _ message: String, details: [String: JSONValue] = [:]) -> AgentError {
        AgentError(status: .conflict, code: code, message: message, details: details)
    }

    /// The operation exists but this device, connection type or configuration cannot do it.
    public static func unsupported(_ message: String, details: [String: JSONValue] = [:]) -> AgentError {
        AgentError(status: .unprocessable, code: "unsupported", message: message, details: details)
    }

    public static func contentTooLarge(limit: Int) -> AgentError {
        AgentError(
            status: .contentTooLarge, code: "payload_too_large", message: "request body exceeds \(limit) bytes",
            details: ["limit": .integer(Int64(limit))])
    }

    public static func internalError(_ message: String) -> AgentError {
        AgentError(status: .internalError, code: "internal_error", message: message)
    }

    /// Converts any thrown error into the envelope form. Decoding errors become 400s naming the field.
    public static func from(_ error: any Error) -> AgentError {
        switch error {
        case let convertible as any AgentErrorConvertible:
            return convertible.agentError
        case let decoding as DecodingError:
            return from(decoding)
        case is CancellationError:
            return AgentError(status: .serviceUnavailable, code: "cancelled", message: "the operation was cancelled")
        default:
            return .internalError("internal error; the agent log has the details")
        }
    }

    static func from(_ error: DecodingError) -> AgentError {
        switch error {
        case .keyNotFound(let key, let context):
            return .missingField(fieldPath(context.codingPath + [key]))
        case .valueNotFound(_, let context):
            return .missingField(fieldPath(context.codingPath))
        case .typeMismatch(let type, let context):
            let field = fieldPath(context.codingPath)
            if field.isEmpty { return .malformedJSON("expected \(describe(type)) at the top level") }
            return .invalidField(field, "expected \(describe(type))")
        case .dataCorrupted(let context):
            let field = fieldPath(context.codingPath)
            if field.isEmpty {
                return .malformedJSON(context.underlyingError.map { String(describing: $0) } ?? context.debugDescription)
            }
            return .invalidField(field, context.debugDescription)
        @unknown default:
            return .malformedJSON("undecodable request")
        }
    }

    /// `connection.meta.ip`, `ports[2].id`: the notation every 400 uses to name a field.
    public static func fieldPath(_ codingPath: [any CodingKey]) -> String {
        var path = ""
        for key in codingPath {
            if let index = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == String(index) {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is UInt16.Type, is Int32.Type, is UInt32.Type, is UInt64.Type: return "an integer"
        case is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}
