import AgentCore
import Foundation

/// The `HOME` the agent gives ipmitool for its own commands, holding a manufacturer registry of one entry.
///
/// ipmitool 1.8.19 reads IANA's registry of enterprise numbers (`/usr/share/misc/enterprise-numbers.txt`, 4.7 MB,
/// 62,000 entries) at every start, before it looks at its command: measured against ipmi_sim, a
/// `chassis power status` takes 21 ms of CPU with it and 5 ms without. The registry only turns a manufacturer number
/// into a name: in `mc info`, `hpm`, `ime` and `chassis bootmbox` output, which the agent never parses, and in the
/// `OEM (name) Record` lines of `fru print`, which its parser skips. ipmitool looks in `$HOME/.local/usr/share/misc/`
/// first (under either name ipmitool versions use) and takes the system's file only when that one is missing; a file
/// that is there but empty makes it refuse to run ("Failed to initialize the OEM info dictionary"), hence the one entry.
/// Output meant for an operator to read (a custom command) keeps the system's registry (see
/// ``IPMIExecutor/ManufacturerNames``), as do serial consoles, which start once per session.
public struct IPMIToolHome: Sendable, Equatable {
    public let path: String

    /// The registry: IANA's own first entry, in the registry's format (number at column 0, name indented by two).
    static let registry = "0\n  Reserved\n"
    /// Where ipmitool looks under `$HOME`, with the file names of Debian's build and of upstream's.
    static let registryPaths = [".local/usr/share/misc/enterprise-numbers.txt", ".local/usr/share/misc/enterprise-numbers"]

    /// The home under `scratch` (`<scratch>/ipmitool-home`), its registry written unless it is already in place: by
    /// the daemon when it starts (after emptying its scratch directory), by a shell command each time it runs.
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
