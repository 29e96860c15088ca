import AgentCore

/// The seed's serverPowerMethod names.
public enum PowerMethod: String, Sendable, CaseIterable, Codable {
    case getPowerStatus, setPowerOn, setPowerOff, setPowerSoft, setPowerReset, setPowerCycle
    case setBootType, setBmcReset, executeCustomCommand

    /// Methods that change something (they run as jobs).
    public var isMutating: Bool { self != .getPowerStatus }

    /// Methods that only read.
    public var isReadOnly: Bool { self == .getPowerStatus }

    /// The power change a method asks for; nil for reads, boot device, BMC reset and custom commands.
    public var change: PowerChange? {
        switch self {
        case .setPowerOn: return .on
        case .setPowerOff: return .off
        case .setPowerSoft: return .soft
        case .setPowerReset: return .reset
        case .setPowerCycle: return .cycle
        case .getPowerStatus, .setBootType, .setBmcReset, .executeCustomCommand: return nil
        }
    }

    /// Methods a fallback connection (a PDU outlet) can stand in for.
    public var canFailOver: Bool {
        [.getPowerStatus, .setPowerOn, .setPowerOff, .setPowerReset, .setPowerCycle].contains(self)
    }

    public init(path value: String) throws {
        guard let method = PowerMethod(rawValue: value) else {
            throw AgentError.invalidField(
                "serverPowerMethod", "unknown power method \(value) (one of \(PowerMethod.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = method
    }
}

/// A connection as the controller sends it: `{"type": "ipmi", "meta": {...}}`.
public struct ConnectionDescriptor: Sendable, Decodable, Equatable {
    public var type: String
    public var meta: JSONValue

    public init(type: String, meta: JSONValue) {
        self.type = type
        self.meta = meta
    }

    enum CodingKeys: String, CodingKey { case type, meta }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        meta = try container.decodeIfPresent(JSONValue.self, forKey: .meta) ?? [:]
        guard case .object = meta else { throw container.invalid(.meta, "expected an object") }
    }
}

/// The `params` of a power call: the seed sends a string ("pxe", "cold", "chassis status"); objects are
/// accepted too (`{"device": "pxe", "efi": true}`).
public enum PowerParameters: Sendable, Equatable {
    case none
    case text(String)
    case object([String: JSONValue])

    public init(_ value: JSONValue?) throws {
        switch value {
        case nil, .null: self = .none
        case .string(let text): self = text.trimmingCharacters(in: .whitespaces).isEmpty ? .none : .text(text)
        case .object(let members): self = .object(members)
        default: throw AgentError.invalidField("params", "expected a string or an object")
        }
    }
}
