import CLibSSH2

/// Facts about the libssh2 library this binary is linked against.
public enum LibSSH2Library {
    /// The version the linked libssh2 reports (`libssh2_version(0)`), e.g. `1.10.0`.
    public static var version: String {
        guard let text = libssh2_version(0) else { return "" }
        return String(cString: text)
    }
}
