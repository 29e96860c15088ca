import Foundation
import Yams

/// Builds an ``AgentConfiguration`` from the defaults, a YAML file and `RACKAGENT_*` environment variables.
///
/// The set of valid keys is read off the defaults themselves, so a key added to a configuration struct is
/// immediately accepted in YAML and overridable from the environment, and a misspelt key fails start-up.
public struct ConfigurationLoader: Sendable {
    /// The default file location; a missing file there means "use the defaults".
    public static let defaultPath = "/etc/rackagent/agent.yaml"

    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads the configuration.
    /// - Parameters:
    ///   - path: the YAML file. A missing file is an error only when `required` (an explicit `--config`).
    ///   - required: whether the file must exist.
    public func load(path: String?, required: Bool) throws -> AgentConfiguration {
        let schema = ConfigurationSchema(AgentConfiguration())
        var tree = try defaultTree()
        if let path, let user = try readFile(path, required: required) {
            try schema.rejectUnknownKeys(in: user, path: [])
            tree = merge(tree, user)
        }
        for key in schema.leafPaths {
            let variable = "RACKAGENT_" + key.map(Self.upperSnake).joined(separator: "_")
            guard let value = environment[variable] else { continue }
            tree = setting(value: try environmentNode(value, variable: variable), at: key, in: tree)
        }
        let configuration: AgentConfiguration
        do {
            configuration = try YAMLDecoder().decode(AgentConfiguration.self, from: try Yams.serialize(node: tree))
        } catch let error as DecodingError {
            throw Self.describe(error)
        }
        try configuration.validate()
        return configuration
    }

    /// `caFile` → `CA_FILE`, `allowedSources` → `ALLOWED_SOURCES`, `ipmi` → `IPMI`.
    public static func upperSnake(_ key: String) -> String {
        var result = ""
        var previousWasLower = false
        for character in key {
            if character.isUppercase, previousWasLower { result.append("_") }
            result.append(contentsOf: character.uppercased())
            previousWasLower = character.isLowercase || character.isNumber
        }
        return result
    }

    private func defaultTree() throws -> Node {
        try Yams.compose(yaml: try YAMLEncoder().encode(AgentConfiguration())) ?? Node.mapping(.init([]))
    }

    private func readFile(_ path: String, required: Bool) throws -> Node? {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw ConfigurationError.unreadable(path: path, reason: "no such file") }
            return nil
        }
        // An empty file is an empty document (all defaults). Not read: this toolchain's Foundation leaks a 4 KiB
        // buffer for every empty file `contents(atPath:)` reads (found by the yaml-configuration fuzz target).
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if attributes?[.type] as? FileAttributeType == .typeRegular, attributes?[.size] as? Int == 0, FileManager.default.isReadableFile(atPath: path) {
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError.unreadable(path: path, reason: "permission denied or not a regular file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError.malformed(path: path, reason: "not UTF-8")
        }
        do {
            guard let node = try Yams.compose(yaml: text) else { return nil }
            if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.tag == Tag(.null) { return nil }
            guard node.mapping != nil else { throw ConfigurationError.malformed(path: path, reason: "the top level must be a mapping") }
            return node
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError.malformed(path: path, reason: String(describing: error))
        }
    }

    private func environmentNode(_ value: String, variable: String) throws -> Node {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") {
            do {
                if let node = try Yams.compose(yaml: trimmed) { return node }
            } catch {
                throw ConfigurationError.invalidValue(key: variable, reason: "not a YAML flow value: \(error)")
            }
        }
        return Node.scalar(.init(value, .implicit, .plain))
    }

    private func merge(_ base: Node, _ override: Node) -> Node {
        if base.mapping != nil, case .scalar(let scalar) = override, scalar.tag == Tag(.null) || scalar.string.isEmpty || scalar.string == "~" {
            return base
        }
        guard let baseMapping = base.mapping, let overrideMapping = override.mapping else { return override }
        var result = baseMapping
        for (key, value) in overrideMapping {
            if let existing = result[key] {
                result[key] = merge(existing, value)
            } else {
                result[key] = value
            }
        }
        return .mapping(result)
    }

    private func setting(value: Node, at path: [String], in node: Node) -> Node {
        guard let first = path.first else { return value }
        var mapping = node.mapping ?? Node.Mapping([])
        let child = mapping[first] ?? .mapping(.init([]))
        mapping[Node(first)] = setting(value: value, at: Array(path.dropFirst()), in: child)
        return .mapping(mapping)
    }

    static func describe(_ error: DecodingError) -> ConfigurationError {
        switch error {
        case .typeMismatch(let type, let context):
            return .invalidValue(key: AgentError.fieldPath(context.codingPath), reason: "expected \(type)")
        case .valueNotFound(_, let context):
            return .invalidValue(key: AgentError.fieldPath(context.codingPath), reason: "a value is required")
        case .keyNotFound(let key, let context):
            return .invalidValue(key: AgentError.fieldPath(context.codingPath + [key]), reason: "required")
        case .dataCorrupted(let context):
            return .invalidValue(key: AgentError.fieldPath(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return .invalidValue(key: "", reason: String(describing: error))
        }
    }
}

/// The key structure of the configuration, read by reflection from a default instance: nested structs are
/// sections, everything else (scalars, optionals, enums, lists) is a leaf.
struct ConfigurationSchema {
    private let sections: [String: ConfigurationSchema]
    private let leaves: Set<String>

    init(_ value: Any) {
        var sections: [String: ConfigurationSchema] = [:]
        var leaves: Set<String> = []
        for child in Mirror(reflecting: value).children {
            guard let label = child.label else { continue }
            if Mirror(reflecting: child.value).displayStyle == .struct, !(child.value is Secret) {
                sections[label] = ConfigurationSchema(child.value)
            } else {
                leaves.insert(label)
            }
        }
        self.sections = sections
        self.leaves = leaves
    }

    var leafPaths: [[String]] {
        leaves.sorted().map { [$0] } + sections.sorted { $0.key < $1.key }.flatMap { name, section in
            section.leafPaths.map { [name] + $0 }
        }
    }

    func rejectUnknownKeys(in node: Node, path: [String]) throws {
        guard let mapping = node.mapping else {
            throw ConfigurationError.invalidValue(key: path.joined(separator: "."), reason: "expected a mapping")
        }
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                throw ConfigurationError.unknownKey((path + ["<non-string key>"]).joined(separator: "."))
            }
            if let section = sections[key] {
                if case .scalar(let scalar) = value, scalar.tag == Tag(.null) || scalar.string.isEmpty { continue }
                try section.rejectUnknownKeys(in: value, path: path + [key])
            } else if !leaves.contains(key) {
                throw ConfigurationError.unknownKey((path + [key]).joined(separator: "."))
            }
        }
    }
}
