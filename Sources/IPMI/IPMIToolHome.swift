import AgentCore
import Foundation

/// The `HOME` the agent gives ipmitool for its own commands, holding a manufacturer registry of one entry.
///
/// ipmitool 1.8.19 reads IANA's registry of enterprise numbers (`/usr/share/misc/enterprise-numbers.txt`, 4.7 MB,
/// 62,000 entries) at every start, before it looks at its command: measured here, 80% of the CPU of a
/// `chassis power status` (about 25 ms of 30). The registry only turns a manufacturer number into a name for `mc info`,
/// `hpm`, `ime` and `chassis bootmbox` output, which the agent never parses; the agent's own commands therefore run with
/// this home, where ipmitool finds a registry of one entry first (`$HOME/.local/usr/share/misc/`, under both of the
/// names ipmitool versions use) and starts in about a fifth of the time. A registry file that is missing or empty
/// would make ipmitool 1.8.19 refuse to run ("Failed to initialize the OEM info dictionary"), hence the one entry.
/// Output meant for an operator to read (a custom command) keeps the system's registry: see
/// ``IPMIExecutor/ManufacturerNames``.
public struct IPMIToolHome: Sendable, Equatable {
    public let path: String

    /// The registry: IANA's own first entry, in the registry's format (number at column 0, name indented by two).
    static let registry = "0\n  Reserved\n"
    /// Where ipmitool looks under `$HOME`, with the file names of Debian's build and of upstream's.
    static let registryPaths = [".local/usr/share/misc/enterprise-numbers.txt", ".local/usr/share/misc/enterprise-numbers"]

    /// The home under `scratch` (`<scratch>/ipmitool-home`), its registry written unless it is already in place.
    public static func prepare(in scratch: ScratchDirectory) throws -> IPMIToolHome {
        try scratch.prepare(emptying: false)
        let home = IPMIToolHome(path: scratch.path + "/ipmitool-home")
        let contents = Data(registry.utf8)
        for relative in registryPaths {
            let file = home.path + "/" + relative
            if FileManager.default.contents(atPath: file) == contents { continue }
            try FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try AtomicFile.write(contents, to: file, mode: 0o644)
        }
        return home
    }

    /// The variable to add to ipmitool's environment.
    public var environment: [String: String] { ["HOME": path] }
}
