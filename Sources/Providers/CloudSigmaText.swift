/// CloudSigma API 1.0's text/plain encoding (seed 004, "Data formats"): `key value` lines for one object, a
/// list of values one per line, or several objects one after another, separated by blank lines (the seed's own
/// examples also run objects together, so a key seen twice starts the next object).
public enum CloudSigmaText {
    public typealias Object = [String: String]

    /// Objects in the order they appear.
    public static func objects(_ text: String) -> [Object] {
        var objects: [Object] = []
        var current: Object = [:]
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(.init(charactersIn: "\r")))
            if line.isEmpty {
                if !current.isEmpty { objects.append(current) }
                current = [:]
                continue
            }
            let (key, value) = pair(line)
            if current[key] != nil {
                objects.append(current)
                current = [:]
            }
            current[key] = value
        }
        if !current.isEmpty { objects.append(current) }
        return objects
    }

    /// One object: every `key value` line of the text.
    public static func object(_ text: String) -> Object {
        var object: Object = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let (key, value) = pair(trimmed)
            object[key] = value
        }
        return object
    }

    /// Whether `text` is a CloudSigma resource id (a UUID): only such ids from an answer are put into a request path.
    public static func isIdentifier(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isHexDigit } }
    }

    /// A list of values, one per line.
    public static func list(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The body of a request: `key value` lines in the given order.
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0) \($0.1)\n" }.joined()
    }

    /// `errors:cpu The minimum CPU subscription is 2000 core MHz` lines as field → message.
    public static func errors(_ text: String) -> [(field: String, message: String)] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            guard line.hasPrefix("errors:") else { return nil }
            let (key, value) = pair(String(line))
            return (String(key.dropFirst("errors:".count)), value.hasPrefix("* ") ? String(value.dropFirst(2)) : value)
        }
    }

    static func pair(_ line: String) -> (String, String) {
        guard let space = line.firstIndex(of: " ") else { return (line, "") }
        return (String(line[..<space]), line[line.index(after: space)...].trimmingCharacters(in: .whitespaces))
    }
}
