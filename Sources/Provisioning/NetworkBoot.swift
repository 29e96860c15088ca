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
/// true gets them) and the iPXE script, so the two never disagree.
public struct PXEGate: Sendable {
    let store: DHCPEntryStore
    let provider: (any BootScriptProvider)?
    let unknownMACAction: UnknownMACBootAction

    public init(store: DHCPEntryStore, provider: (any BootScriptProvider)?, unknownMACAction: UnknownMACBootAction) {
        self.store = store
        self.provider = provider
        self.unknownMACAction = unknownMACAction
    }

    /// True when the entry exists, is not expired and has PXE enabled.
    public static func mayPXEBoot(_ entry: DHCPEntry?, now: Date = Date()) -> Bool {
        guard let entry, entry.pxe else { return false }
        if let expiry = entry.expiresAt, expiry <= now { return false }
        return true
    }

    public func answer(mac: MACAddress, architecture: BootArchitecture, clientAddress: String?) async throws -> BootAnswer {
        let entry = try await store.get(mac)
        guard entry != nil else {
            return unknownMACAction == .refuse ? .refused : .script(Self.localBootScript(mac: mac, architecture: architecture, reason: "unknown machine"))
        }
        guard Self.mayPXEBoot(entry) else {
            return .script(Self.localBootScript(mac: mac, architecture: architecture, reason: "PXE is not enabled for this machine"))
        }
        if let provider, let script = try await provider.bootScript(for: mac, architecture: architecture, clientAddress: clientAddress) {
            return .script(script)
        }
        return .script(Self.localBootScript(mac: mac, architecture: architecture, reason: "no pending installation"))
    }

    /// Boots the local disk: `sanboot` on BIOS, `exit` (back to the firmware's boot order) on UEFI; decided by
    /// iPXE itself when the architecture is unknown.
    public static func localBootScript(mac: MACAddress, architecture: BootArchitecture, reason: String) -> String {
        var lines = ["#!ipxe", "# rackagent: \(mac) \(reason); booting the local disk"]
        switch architecture {
        case .bios: lines.append("sanboot --no-describe --drive 0x80 || exit")
        case .efi, .arm64: lines.append("exit")
        case .unknown: lines += ["iseq ${platform} efi && exit ||", "sanboot --no-describe --drive 0x80 || exit"]
        }
        return lines.joined(separator: "\n") + "\n"
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
