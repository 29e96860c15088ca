import AgentCore
import Foundation
import Yams

/// One file the boot listener serves for an installation.
public struct RenderedFile: Sendable, Equatable, Codable {
    public var content: String
    public var contentType: String

    public init(_ content: String, contentType: String = "text/plain; charset=utf-8") {
        self.content = content
        self.contentType = contentType
    }
}

/// Everything an installation serves, by boot path (`ipxe`, `kickstart`, `autoinstall/user-data`, `script/1` ...).
public struct RenderedInstallation: Sendable, Equatable {
    public var files: [String: RenderedFile]
    /// The answer file's path, nil for kinds without one.
    public var answerFile: String?

    /// Paths whose first fetch means "the installer has started".
    public var answerFiles: Set<String> {
        Set(files.keys.filter { $0 == answerFile || $0.hasPrefix("autoinstall/") || $0 == "unattend" })
    }
}

/// Renders an installation's files from the request, the profile's own templates and the stock ones.
/// Pure apart from reading stock templates; every failure is a 400 naming the field or template.
public struct InstallationRenderer: Sendable {
    public let library: TemplateLibrary
    let engine = TemplateEngine()

    public init(library: TemplateLibrary) {
        self.library = library
    }

    public func render(_ request: InstallationRequest, token: String, bootBaseURL: String, rootPasswordHash: String) throws -> RenderedInstallation {
        let profile = request.profile
        let urls = InstallationURLs(bootBaseURL: bootBaseURL, token: token, cacheDirectory: profile?.cacheDirectory)
        let context = TemplateContext(request: request, urls: urls, token: token, rootPasswordHash: rootPasswordHash)
        try checkHardware(request)

        var files: [String: RenderedFile] = [:]
        var layoutText = ""
        var level: DiskLayoutLevel?
        let minimumDisks = request.diskLayout?.requiredDisks ?? 1
        if request.kind == .install, let profile {
            let base = context.variables(diskLayout: "", layoutLevel: nil, minimumDisks: minimumDisks)
            if let custom = request.userProvidedDiskLayout {
                layoutText = try engine.render(custom, name: "userprovidedDiskLayout", context: base)
            } else if let layout = request.diskLayout, layout.stockLevel == nil, !layout.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                layoutText = try engine.render(layout.text, name: "disklayout.disklayout", context: base)
            } else {
                level = request.diskLayout?.stockLevel ?? .auto
                let leveled = context.variables(diskLayout: "", layoutLevel: level, minimumDisks: minimumDisks)
                switch profile.pxeType {
                case "kickstart":
                    layoutText = try renderStock("disklayouts/kickstart.ks", leveled)
                case "preseed":
                    layoutText = try renderStock("disklayouts/preseed.cfg", leveled)
                    files["script/partitioning"] = RenderedFile(try renderStock("disklayouts/preseed-partitioning.sh", leveled))
                default:
                    break
                }
            }
        }
        let variables = context.variables(diskLayout: layoutText, layoutLevel: level, minimumDisks: minimumDisks)

        if request.kind == .hardwareDetection {
            files["script/hwdetect"] = RenderedFile(try renderStock("scripts/hwdetect.sh", variables))
        }
        guard let profile else { return RenderedInstallation(files: files, answerFile: nil) }

        files["ipxe"] = RenderedFile(try bootScript(profile, kind: request.kind, variables: variables))
        var answerFile: String?
        switch request.kind {
        case .install:
            answerFile = try renderAnswer(profile, request: request, variables: variables, into: &files)
            files["script/firstboot"] = RenderedFile(try renderStock("scripts/firstboot.sh", variables))
            if ["preseed", "autoinstall"].contains(profile.pxeType) {
                files["script/late"] = RenderedFile(try renderStock("scripts/late.sh", variables))
            }
            for (index, script) in request.scripts.enumerated() {
                files["script/\(index + 1)"] = RenderedFile(script.script)
            }
        case .rescue where profile.bootsInstallerRescue:
            files["preseed"] = RenderedFile(try renderStock("answer/preseed-rescue.cfg", variables))
            answerFile = "preseed"
        case .rescue, .diskWipe, .passwordReset, .hardwareDetection:
            if let name = TemplateContext.kindScriptName(request.kind) {
                files["script/\(name)"] = RenderedFile(try renderStock(Self.stockScript(name), variables))
            }
        }
        return RenderedInstallation(files: files, answerFile: answerFile)
    }

    static func stockScript(_ name: String) -> String { "scripts/\(name).sh" }

    /// The profile's pxeConfig, or the stock script for its pxeType (rescue kinds: `ipxe/rescue.ipxe`).
    func bootScript(_ profile: PXEProfile, kind: InstallationKind, variables: JSONValue) throws -> String {
        var script: String
        if let own = profile.pxeConfig {
            script = try engine.render(own, name: "profile.pxeConfig", context: variables)
        } else {
            let stock = kind == .rescue && profile.bootsInstallerRescue ? "ipxe/preseed-rescue.ipxe"
                : kind.bootsRescueSystem ? "ipxe/rescue.ipxe" : "ipxe/\(profile.pxeType).ipxe"
            guard library.has(stock) else {
                throw AgentError.invalidField("profile.pxeConfig", "required: there is no stock boot script for pxeType \(profile.pxeType)")
            }
            guard profile.mirrorUrl != nil, !profile.cacheFiles.isEmpty else {
                throw AgentError.invalidField("profile.mirrorUrl", "required: the stock boot script loads its kernel from the mirror")
            }
            script = try renderStock(stock, variables)
        }
        if !script.hasPrefix("#!ipxe") { script = "#!ipxe\n" + script }
        return script
    }

    /// Renders the answer file for the profile's pxeType and checks what can be checked here.
    func renderAnswer(_ profile: PXEProfile, request: InstallationRequest, variables: JSONValue, into files: inout [String: RenderedFile]) throws -> String? {
        guard let name = profile.answerFileName else { return nil }
        let stock: String? = switch profile.pxeType {
        case "kickstart": "answer/kickstart.cfg"
        case "preseed": "answer/preseed.cfg"
        case "autoinstall": "answer/autoinstall-user-data.yaml"
        case "windows": "answer/unattend.xml"
        default: nil
        }
        func render(_ values: JSONValue) throws -> String {
            if let own = profile.autoInstallTemplate { return try engine.render(own, name: "profile.autoInstallTemplate", context: values) }
            guard let stock else { throw AgentError.missingField("profile.autoInstallTemplate") }
            return try renderStock(stock, values)
        }
        switch profile.pxeType {
        case "autoinstall":
            let userData = try render(variables)
            try Self.checkAutoinstall(userData)
            files["autoinstall/user-data"] = RenderedFile(userData, contentType: "text/cloud-config; charset=utf-8")
            files["autoinstall/meta-data"] = RenderedFile(
                "instance-id: rackagent-\(request.serverId)-\(variables["installation"]?["token"]?.stringValue?.prefix(8) ?? "")\nlocal-hostname: \(variables["shortHostname"]?.stringValue ?? "")\n")
            files["autoinstall/vendor-data"] = RenderedFile("")
            return "autoinstall/user-data"
        case "windows":
            let unattend = try render(Self.xmlEscaped(variables))
            try Self.checkXML(unattend, name: "unattend.xml")
            files[name] = RenderedFile(unattend, contentType: "application/xml; charset=utf-8")
            files["script/install.bat"] = RenderedFile(try renderStock("scripts/windows-install.bat", variables).replacingOccurrences(of: "\n", with: "\r\n"))
            files["script/winpeshl.ini"] = RenderedFile(try renderStock("scripts/winpeshl.ini", variables).replacingOccurrences(of: "\n", with: "\r\n"))
            return name
        default:
            files[name] = RenderedFile(try render(variables))
            return name
        }
    }

    func renderStock(_ name: String, _ variables: JSONValue) throws -> String {
        try engine.render(try library.template(name), name: name, context: variables)
    }

    /// min_disks against the server's disks, hw_raid_handling against its RAID controller, when they are known.
    func checkHardware(_ request: InstallationRequest) throws {
        guard request.kind == .install, let layout = request.diskLayout else { return }
        if let disks = request.diskCount, layout.requiredDisks > disks {
            throw AgentError.invalidField("disklayout.min_disks", "the layout \"\(layout.name)\" needs \(layout.requiredDisks) disks, the server has \(disks)")
        }
        if layout.hardwareRaidHandling == "dont_offer_if_hw_raid", request.hasHardwareRAID == true {
            throw AgentError.invalidField("disklayout.hw_raid_handling", "the layout \"\(layout.name)\" is not offered for servers with a hardware RAID controller")
        }
    }

    /// The autoinstall schema's must-haves: `autoinstall.version` 1 and `identity` unless `user-data` replaces it.
    static func checkAutoinstall(_ text: String) throws {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch {
            throw AgentError(status: .badRequest, code: "template_invalid_output", message: "the rendered user-data is not valid YAML: \(error)")
        }
        guard let root = document as? [String: Any], let autoinstall = root["autoinstall"] as? [String: Any] else {
            throw AgentError(status: .badRequest, code: "template_invalid_output", message: "the rendered user-data has no autoinstall section")
        }
        guard (autoinstall["version"] as? Int) == 1 else {
            throw AgentError(status: .badRequest, code: "template_invalid_output", message: "the rendered user-data needs autoinstall.version: 1")
        }
        guard autoinstall["identity"] != nil || autoinstall["user-data"] != nil else {
            throw AgentError(status: .badRequest, code: "template_invalid_output", message: "the rendered user-data needs autoinstall.identity or autoinstall.user-data")
        }
    }

    static func checkXML(_ text: String, name: String) throws {
        do {
            _ = try XMLTree.document(text)
        } catch {
            throw AgentError(status: .badRequest, code: "template_invalid_output", message: "the rendered \(name) is not well-formed XML: \(error)")
        }
    }

    /// Every string leaf escaped for XML text and attributes.
    static func xmlEscaped(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&apos;"))
        case .array(let items): return .array(items.map(xmlEscaped))
        case .object(let members): return .object(members.mapValues(xmlEscaped))
        default: return value
        }
    }
}
