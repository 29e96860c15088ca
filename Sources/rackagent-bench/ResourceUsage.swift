import Foundation

/// CPU time (user + system) and peak resident memory of a process, as the kernel counts them.
struct ResourceUsage: Sendable {
    var cpuSeconds: Double
    /// The high-water mark of resident memory (VmHWM).
    var peakResidentBytes: Int

    /// This process: CPU from getrusage, peak from /proc/self/status (resettable with ``resetPeak(of:)``).
    static func ofThisProcess() -> ResourceUsage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return ResourceUsage(cpuSeconds: usage.cpuSeconds, peakResidentBytes: peakResident(of: "self") ?? Int(usage.ru_maxrss) * 1024)
    }

    /// The CPU seconds of every child this process has waited for, together.
    static func waitedChildrenCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return usage.cpuSeconds
    }

    /// A running process, from /proc/PID/stat and /proc/PID/status; nil once it is gone.
    static func ofRunningProcess(_ pid: pid_t) -> ResourceUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return nil }
        // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ResourceUsage(cpuSeconds: (user + system) / ticks, peakResidentBytes: peakResident(of: String(pid)) ?? 0)
    }

    /// Starts a new high-water mark of resident memory for `process` ("self" or a PID) (Linux's clear_refs 5).
    static func resetPeak(of process: String) {
        let path = "/proc/\(process)/clear_refs"
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.write(Data("5".utf8))
        try? handle.close()
    }

    private static func peakResident(of process: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }
}

extension rusage {
    var cpuSeconds: Double {
        Double(ru_utime.tv_sec) + Double(ru_utime.tv_usec) / 1e6 + Double(ru_stime.tv_sec) + Double(ru_stime.tv_usec) / 1e6
    }
}

/// The CPU seconds and peak memory one side of a benchmark spent in a phase: this process (reset at the start), the
/// children it waited for, and any long-running peer processes (the reference daemon) named by PID.
struct PhaseUsage: Sendable {
    private let selfAtStart: ResourceUsage
    private let childrenAtStart: Double
    private let daemons: [pid_t: ResourceUsage]

    init(daemons: [pid_t] = []) {
        ResourceUsage.resetPeak(of: "self")
        for pid in daemons { ResourceUsage.resetPeak(of: String(pid)) }
        selfAtStart = .ofThisProcess()
        childrenAtStart = ResourceUsage.waitedChildrenCPU()
        self.daemons = Dictionary(uniqueKeysWithValues: daemons.compactMap { pid in ResourceUsage.ofRunningProcess(pid).map { (pid, $0) } })
    }

    struct Spent: Sendable {
        /// CPU seconds of this process in the phase.
        var ownCPU: Double
        /// CPU seconds of the child processes that ended in the phase.
        var childrenCPU: Double
        /// CPU seconds of the named daemons in the phase.
        var daemonCPU: Double
        /// Peak resident memory of this process in the phase.
        var ownPeak: Int
        /// The largest peak of the named daemons in the phase.
        var daemonPeak: Int
    }

    func end() -> Spent {
        let own = ResourceUsage.ofThisProcess()
        let children = ResourceUsage.waitedChildrenCPU()
        var daemonCPU = 0.0
        var daemonPeak = 0
        for (pid, start) in daemons {
            guard let now = ResourceUsage.ofRunningProcess(pid) else { continue }
            daemonCPU += now.cpuSeconds - start.cpuSeconds
            daemonPeak = max(daemonPeak, now.peakResidentBytes)
        }
        return Spent(
            ownCPU: own.cpuSeconds - selfAtStart.cpuSeconds, childrenCPU: children - childrenAtStart,
            daemonCPU: daemonCPU, ownPeak: own.peakResidentBytes, daemonPeak: daemonPeak)
    }
}

extension Int {
    /// Bytes as mebibytes, for a report.
    var mebibytes: Double { Double(self) / 1_048_576 }
}

/// Percentiles of measured values.
enum Distribution {
    /// The nearest-rank percentile (`fraction` 0.5 is the median); 0 for no values.
    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
    }
}
