import AgentCore
import Foundation
import Mustache

public enum TemplateError: Error, Sendable, Equatable, AgentErrorConvertible, CustomStringConvertible {
    /// `{{name}}` that the variable set does not have.
    case unknownVariable(template: String, name: String, line: Int)
    /// Unbalanced sections, bad delimiters and the like.
    case syntax(template: String, detail: String)
    /// A stock template file is missing.
    case missingTemplate(String)

    public var description: String { agentError.message }

    public var agentError: AgentError {
        switch self {
        case .unknownVariable(let template, let name, let line):
            return AgentError(
                status: .badRequest, code: "template_unknown_variable", message: "template \(template), line \(line): unknown variable '\(name)'",
                details: ["template": .string(template), "variable": .string(name), "line": .integer(Int64(line))])
        case .syntax(let template, let detail):
            return AgentError(status: .badRequest, code: "template_syntax", message: "template \(template): \(detail)", details: ["template": .string(template)])
        case .missingTemplate(let name):
            return AgentError(status: .internalError, code: "template_missing", message: "stock template \(name) is not installed", details: ["template": .string(name)])
        }
    }
}

/// Renders installer templates with Mustache (variables, sections for conditions and loops), as plain text
/// (no HTML escaping). Unlike plain Mustache, a variable the context does not know is an error naming it and its
/// line, so a typo in a controller's template fails the installation before anything boots.
public struct TemplateEngine: Sendable {
    public init() {}

    public func render(_ source: String, name: String, context: JSONValue) throws -> String {
        try Self.checkVariables(source, name: name, context: context)
        let template: MustacheTemplate
        do {
            template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}\n" + source)
        } catch {
            throw TemplateError.syntax(template: name, detail: "\(error)")
        }
        return template.render(Self.renderable(context))
    }

    /// JSON to the values swift-mustache walks (null members are left out: they render as nothing).
    static func renderable(_ value: JSONValue) -> Any {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag
        case .integer(let number): return Int(number)
        case .double(let number): return number
        case .string(let text): return text
        case .array(let items): return items.map(renderable)
        case .object(let members):
            var dictionary: [String: Any] = [:]
            for (key, member) in members where member != .null { dictionary[key] = renderable(member) }
            return dictionary
        }
    }

    /// Walks the tags with a stack of section scopes and refuses names no scope provides.
    static func checkVariables(_ source: String, name: String, context: JSONValue) throws {
        var open = "{{"
        var close = "}}"
        // nil: inside a section over an empty list, whose element names cannot be known (and never render).
        var scopes: [JSONValue?] = [context]
        var sections: [String] = []
        var index = source.startIndex
        while let start = source.range(of: open, range: index..<source.endIndex) {
            let line = source[source.startIndex..<start.lowerBound].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
            var tagEnd = close
            var contentStart = start.upperBound
            if source[contentStart...].hasPrefix("{"), open == "{{" {
                tagEnd = "}" + close
                contentStart = source.index(after: contentStart)
            }
            guard let end = source.range(of: tagEnd, range: contentStart..<source.endIndex) else {
                throw TemplateError.syntax(template: name, detail: "unclosed tag at line \(line)")
            }
            let tag = source[contentStart..<end.lowerBound].trimmingCharacters(in: .whitespaces)
            index = end.upperBound
            guard let kind = tag.first else { continue }
            let body = tag.dropFirst().trimmingCharacters(in: .whitespaces)
            switch kind {
            case "!", ">", "<", "$", "%":
                continue
            case "=":
                let delimiters = body.dropLast().split(separator: " ", omittingEmptySubsequences: true)
                guard delimiters.count == 2 else { throw TemplateError.syntax(template: name, detail: "bad delimiter change at line \(line)") }
                open = String(delimiters[0])
                close = String(delimiters[1])
            case "#", "^":
                let value = try resolve(body, scopes: scopes, template: name, line: line)
                sections.append(body)
                scopes.append(kind == "#" ? elementScope(value) : .object([:]))
            case "/":
                guard sections.last == body else {
                    throw TemplateError.syntax(template: name, detail: "line \(line): {{/\(body)}} closes \(sections.last.map { "{{#\($0)}}" } ?? "nothing")")
                }
                sections.removeLast()
                scopes.removeLast()
            case "&":
                _ = try resolve(body, scopes: scopes, template: name, line: line)
            default:
                _ = try resolve(tag, scopes: scopes, template: name, line: line)
            }
        }
        if let unclosed = sections.last { throw TemplateError.syntax(template: name, detail: "section {{#\(unclosed)}} is never closed") }
    }

    /// The scope a section opens: the union of a list's element objects, an object itself, nothing new otherwise;
    /// nil for an empty list.
    static func elementScope(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .array(let items) where items.isEmpty:
            return nil
        case .array(let items):
            var keys: [String: JSONValue] = [:]
            for item in items { if case .object(let members) = item { keys.merge(members) { first, _ in first } } }
            return .object(keys)
        case .object: return value
        default: return .object([:])
        }
    }

    static func resolve(_ path: String, scopes: [JSONValue?], template: String, line: Int) throws -> JSONValue {
        if path == "." { return .null }
        let parts = path.split(separator: ".").map(String.init)
        guard let first = parts.first else { return .null }
        for case let scope? in scopes.reversed() {
            guard var value = scope[first] else { continue }
            for part in parts.dropFirst() {
                guard let next = value[part] else { throw TemplateError.unknownVariable(template: template, name: path, line: line) }
                value = next
            }
            return value
        }
        if scopes.contains(where: { $0 == nil }) { return .null }
        throw TemplateError.unknownVariable(template: template, name: path, line: line)
    }
}
