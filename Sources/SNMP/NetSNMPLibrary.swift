import CNetSNMP

/// Facts about the net-snmp library this binary is linked against.
public enum NetSNMPLibrary {
    /// The version the linked libnetsnmp reports (`netsnmp_get_version()`), e.g. `5.9.3`.
    public static var version: String {
        guard let text = netsnmp_get_version() else { return "" }
        return String(cString: text)
    }
}
