import Foundation

/// Rate and time-left arithmetic for one long operation, free of I/O: fed how much is done at which instant, it says
/// how fast it goes, how long is left and the line a progress display shows. The CLI's display draws it; tests feed
/// it instants of their own.
public struct ProgressMeter: Sendable {
    /// What is counted.
    public enum Unit: Sendable, Equatable {
        /// Bytes, shown in KiB/MiB/GiB.
        case bytes
        /// Things with a plural name ("values", "files").
        case items(String)
    }

    public let label: String
    public let unit: Unit
    /// How much there is in all, when known (a download's Content-Length).
    public var total: Int64?
    public private(set) var completed: Int64 = 0
    public let startedAt: ContinuousClock.Instant
    public private(set) var updatedAt: ContinuousClock.Instant
    /// Recent samples, for a rate that follows the current speed rather than the average since the start.
    private var window: [(at: ContinuousClock.Instant, completed: Int64)] = []
    static let windowLength = Duration.seconds(5)
    static let sampleSpacing = Duration.milliseconds(100)
    private let initial: Int64

    /// `completed` is what was there before this run (a resumed download's first part): not counted in the rate.
    public init(label: String, unit: Unit, total: Int64? = nil, completed: Int64 = 0, startedAt: ContinuousClock.Instant = .now) {
        self.label = label
        self.unit = unit
        self.total = total
        self.completed = completed
        self.startedAt = startedAt
        updatedAt = startedAt
        window = [(startedAt, completed)]
        initial = completed
    }

    /// `completed` so far, as of `instant`.
    public mutating func record(_ completed: Int64, at instant: ContinuousClock.Instant = .now) {
        self.completed = completed
        updatedAt = instant
        // At most one sample per tenth of a second stays in the window (a fast download reports thousands of blocks a
        // second): the window holds some fifty samples whatever the rate.
        if window.count > 1, window[window.count - 1].at - window[window.count - 2].at < Self.sampleSpacing {
            window[window.count - 1] = (instant, completed)
        } else {
            window.append((instant, completed))
        }
        while window.count > 2, let first = window.first, instant - first.at > Self.windowLength { window.removeFirst() }
    }

    /// Samples kept for the rate.
    package var windowCount: Int { window.count }

    /// Per second over the recent window; nil until some time has passed.
    public var rate: Double? {
        guard let first = window.first, let last = window.last else { return nil }
        let seconds = (last.at - first.at).inSeconds
        guard seconds >= 0.2 else { return nil }
        return Double(last.completed - first.completed) / seconds
    }

    /// Time left at the current rate, when the total is known and the operation is moving.
    public var remaining: Duration? {
        guard let total, let rate, rate > 0, total >= completed else { return nil }
        return .milliseconds(Int64(Double(total - completed) / rate * 1000))
    }

    public var elapsed: Duration { updatedAt - startedAt }

    /// The line while it runs: `linux  12.3 MiB of 40.0 MiB (30%)  5.1 MiB/s  ETA 0:06`.
    public var runningLine: String {
        var parts = [label, total.map { total -> String in
            switch unit {
            case .bytes: return "\(amount(completed)) of \(amount(total)) (\(percent(of: total))%)"
            case .items(let name): return "\(completed) of \(total) \(name) (\(percent(of: total))%)"
            }
        } ?? amount(completed)]
        if let rate { parts.append(speed(rate)) }
        if let remaining { parts.append("ETA \(Self.clock(remaining))") }
        return parts.joined(separator: "  ")
    }

    /// The line when it is over: `linux  40.0 MiB in 7.8 s (5.1 MiB/s)`.
    public var finishedLine: String {
        let seconds = elapsed.inSeconds
        let average = seconds > 0 ? " (\(speed(Double(completed - initial) / seconds)))" : ""
        return "\(label)  \(amount(completed)) in \(Self.seconds(elapsed))\(average)"
    }

    func amount(_ count: Int64) -> String {
        switch unit {
        case .bytes: return Self.bytes(Double(count))
        case .items(let name): return "\(count) \(name)"
        }
    }

    func speed(_ perSecond: Double) -> String {
        switch unit {
        case .bytes: return "\(Self.bytes(perSecond))/s"
        case .items(let name): return "\(Int(perSecond.rounded())) \(name)/s"
        }
    }

    func percent(of total: Int64) -> Int {
        total > 0 ? Int(min(100, Double(completed) * 100 / Double(total))) : 100
    }

    /// 512 B, 1.5 KiB, 12.3 MiB, 4.70 GiB.
    public static func bytes(_ count: Double) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard count >= 1024 else { return "\(Int(count)) B" }
        var value = count / 1024
        var index = 0
        while value >= 1024, index < units.count - 1 {
            value /= 1024
            index += 1
        }
        return "\(String(format: value < 10 && index >= 2 ? "%.2f" : "%.1f", value)) \(units[index])"
    }

    /// 0:06, 12:34, 1:02:03.
    public static func clock(_ duration: Duration) -> String {
        let total = max(0, Int(duration.inSeconds.rounded()))
        let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, seconds) : String(format: "%d:%02d", minutes, seconds)
    }

    /// 0.4 s, 7.8 s, 2:05.
    public static func seconds(_ duration: Duration) -> String {
        let seconds = duration.inSeconds
        return seconds < 60 ? String(format: "%.1f s", seconds) : clock(duration)
    }
}
