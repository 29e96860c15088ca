#if canImport(Glibc)
import Glibc
#endif

/// The process's own resource limits.
public enum ProcessLimits {
    /// Raises the soft limit on open files to the hard limit (at most 1,048,576): the default soft limit of 1,024 is
    /// used up by about a thousand slow clients, and then neither listener can accept anything. Returns the soft
    /// limit before and after (unchanged when the system refuses, e.g. under a seccomp filter; the systemd unit's
    /// `LimitNOFILE` sets it then).
    @discardableResult
    public static func raiseOpenFileLimit() -> (before: UInt64, after: UInt64) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (0, 0) }
        let before = UInt64(limit.rlim_cur)
        let wanted = min(UInt64(limit.rlim_max), 1 << 20)
        guard wanted > before else { return (before, before) }
        var raised = limit
        raised.rlim_cur = rlim_t(wanted)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else { return (before, before) }
        return (before, wanted)
    }

    /// The soft limit on open files right now.
    public static var openFileLimit: UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return UInt64(limit.rlim_cur)
    }
}
