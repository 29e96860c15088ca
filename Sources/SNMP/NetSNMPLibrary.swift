import CNetSNMP
import Synchronization

/// Facts about, and the one-time set-up of, the net-snmp library this binary is linked against.
public enum NetSNMPLibrary {
    private static let initialized = Mutex(false)

    /// The version the linked libnetsnmp reports (`netsnmp_get_version()`), e.g. `5.9.3`.
    public static var version: String {
        guard let text = netsnmp_get_version() else { return "" }
        return String(cString: text)
    }

    /// Drops the SNMPv3 users (and keys) net-snmp cached from earlier sessions. Called after every v3 operation
    /// (those run one at a time), so each one authenticates with the passphrases it was given.
    static func forgetUserSecurity() {
        ra_forget_usm_users()
    }

    /// Initialises the library once per process: no MIB or config files, no persistent state, numeric OIDs.
    static func initialize() {
        initialized.withLock { done in
            guard !done else { return }
            ra_snmp_initialize()
            done = true
        }
    }
}
