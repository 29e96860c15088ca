import AgentCore
import Foundation

/// The firmware a booting machine runs, from the script URL's `arch` (iPXE's `${platform}`) or a DHCP
/// client-architecture number.
public enum BootArchitecture: String, Sendable, CaseIterable {
    case bios, efi, arm64, unknown

    public init(query: String?) {
        switch query?.lowercased() {
        case "pcbios", "bios", "0", "legacy": self = .bios
        case "efi", "uefi", "x86_64-efi", "7", "9": self = .efi
        case "arm64", "arm64-efi", "11": self = .arm64
        default: self = .unknown
        }
    }
}

/// Supplies the iPXE script of a pending installation. The installation module implements it.
public protocol BootScriptProvider: Sendable {
    /// The script for `mac`, or nil when nothing is pending for it.
    func bootScript(for mac: MACAddress, architecture: BootArchitecture, clientAddress: String?) async throws -> String?
}

/// What the boot listener answers a machine asking for its script.
public enum BootAnswer: Sendable, Equatable {
    case script(String)
    /// Unknown MAC with `unknownMACAction: refuse`: 404, so the firmware moves on to its next boot device.
    case refused
}

/// The one decision "may this MAC PXE boot now?": it gates both the DHCP boot options (an entry with `pxe`
/// true gets them) and the iPXE script, so the two never disagree. Most MACs are answered from the ``BootIndex``;
/// a MAC with a running installation, or one the index could not read, from the database.
public struct PXEGate: Sendable {
    let store: DHCPEntryStore
    let index: BootIndex
    let provider: (any BootScriptProvider)?
    let unknownMACAction: UnknownMACBootAction

    public init(store: DHCPEntryStore, index: BootIndex, provider: (any BootScriptProvider)?, unknownMACAction: UnknownMACBootAction) {
        self.store = store
        self.index = index
        self.provider = provider
        self.unknownMACAction = unknownMACAction
    }

    /// True when the entry exists, is not expired and has PXE enabled.
    public static func mayPXEBoot(_ entry: DHCPEntry?, now: Date = Date()) -> Bool {
        guard let entry else { return false }
        return mayPXEBoot(pxe: entry.pxe, expiresAt: entry.expiresAt, now: now)
    }

    static func mayPXEBoot(pxe: Bool, expiresAt: Date?, now: Date = Date()) -> Bool {
        guard pxe else { return false }
        if let expiresAt, expiresAt <= now { return false }
        return true
    }

    /// The answer for `mac`; the client's address (read only for a running installation's script) names who asked.
    public func answer(mac: MACAddress, architecture: BootArchitecture, clientAddress: @autoclosure () -> String?) async throws -> BootAnswer {
        if let answer = indexedAnswer(mac: mac, architecture: architecture) { return answer }
        return try await answerFromDatabase(mac: mac, architecture: architecture, clientAddress: clientAddress())
    }

    /// The answer for `mac` when the ``BootIndex`` alone decides it, without waiting: an unknown MAC, or an entry
    /// that decodes and has no running installation. nil when the database must be asked (``answer(mac:architecture:clientAddress:)``).
    public func indexedAnswer(mac: MACAddress, architecture: BootArchitecture) -> BootAnswer? {
        switch index.lookup(mac) {
        case .unknown:
            return unknownAnswer(mac: mac, architecture: architecture)
        case .entry(let pxe, let expiresAt):
            let reason = Self.mayPXEBoot(pxe: pxe, expiresAt: expiresAt) ? "no pending installation" : "PXE is not enabled for this machine"
            return .script(Self.localBootScript(mac: mac, architecture: architecture, reason: reason))
        case .askDatabase:
            return nil
        }
    }

    private func answerFromDatabase(mac: MACAddress, architecture: BootArchitecture, clientAddress: String?) async throws -> BootAnswer {
        let entry = try await store.get(mac)
        guard entry != nil else { return unknownAnswer(mac: mac, architecture: architecture) }
        guard Self.mayPXEBoot(entry) else {
            return .script(Self.localBootScript(mac: mac, architecture: architecture, reason: "PXE is not enabled for this machine"))
        }
        if let provider, let script = try await provider.bootScript(for: mac, architecture: architecture, clientAddress: clientAddress) {
            return .script(script)
        }
        return .script(Self.localBootScript(mac: mac, architecture: architecture, reason: "no pending installation"))
    }

    private func unknownAnswer(mac: MACAddress, architecture: BootArchitecture) -> BootAnswer {
        unknownMACAction == .refuse ? .refused : .script(Self.localBootScript(mac: mac, architecture: architecture, reason: "unknown machine"))
    }

    /// Boots the local disk: `sanboot` on BIOS, `exit` (back to the firmware's boot order) on UEFI; decided by
    /// iPXE itself when the architecture is unknown.
    public static func localBootScript(mac: MACAddress, architecture: BootArchitecture, reason: String) -> String {
        let head = "#!ipxe\n# rackagent: \(mac) \(reason); booting the local disk\n"
        return switch architecture {
        case .bios: head + "sanboot --no-describe --drive 0x80 || exit\n"
        case .efi, .arm64: head + "exit\n"
        case .unknown: head + "iseq ${platform} efi && exit ||\nsanboot --no-describe --drive 0x80 || exit\n"
        }
    }
}

/// Copies the iPXE binaries from Debian's `ipxe` package into the TFTP root (only when missing or different).
public enum BootFileInstaller {
    public static let standardFiles = ["undionly.kpxe", "ipxe.efi", "snponly.efi"]

    /// - Returns: the files copied.
    @discardableResult
    public static func install(from source: String, to tftpRoot: String, files: [String] = standardFiles) throws -> [String] {
        try FileManager.default.createDirectory(atPath: tftpRoot, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        chmod(tftpRoot, 0o755)
        var copied: [String] = []
        for name in files {
            let from = "\(source)/\(name)"
            let to = "\(tftpRoot)/\(name)"
            guard let data = FileManager.default.contents(atPath: from) else { continue }
            if FileManager.default.contents(atPath: to) == data { continue }
            try AtomicFile.write(data, to: to, mode: 0o644)
            copied.append(name)
        }
        return copied
    }
}
