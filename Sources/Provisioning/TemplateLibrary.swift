import AgentCore
import Foundation

/// The stock templates in `pxe-templates/`, found in the configured directory, next to the installed binary
/// (`/usr/share/rackagent/pxe-templates`) or in the source checkout.
public struct TemplateLibrary: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The first candidate directory that holds the stock templates.
    public static func locate(configured: String?) throws -> TemplateLibrary {
        if let configured {
            guard FileManager.default.fileExists(atPath: "\(configured)/ipxe") else {
                throw TemplateError.missingTemplate("\(configured) (provisioning.templatesDirectory) has no ipxe/ directory")
            }
            return TemplateLibrary(directory: configured)
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        let sourceCheckout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            executable.appendingPathComponent("../share/rackagent/pxe-templates").standardizedFileURL.path,
            "/usr/share/rackagent/pxe-templates",
            "/usr/local/share/rackagent/pxe-templates",
            FileManager.default.currentDirectoryPath + "/pxe-templates",
            sourceCheckout.appendingPathComponent("pxe-templates").path,
        ]
        for candidate in candidates where FileManager.default.fileExists(atPath: "\(candidate)/ipxe") {
            return TemplateLibrary(directory: candidate)
        }
        throw TemplateError.missingTemplate("pxe-templates (looked in \(candidates.joined(separator: ", ")))")
    }

    /// The text of `name` (a path relative to the library, e.g. `answer/kickstart.cfg`).
    public func template(_ name: String) throws -> String {
        guard !name.contains(".."), let text = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8) else {
            throw TemplateError.missingTemplate(name)
        }
        return text
    }

    public func has(_ name: String) -> Bool {
        !name.contains("..") && FileManager.default.fileExists(atPath: "\(directory)/\(name)")
    }
}
