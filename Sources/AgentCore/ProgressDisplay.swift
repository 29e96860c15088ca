import Foundation
import Synchronization

/// Shows a long operation's progress on stderr: a live line redrawn in place on a terminal, a plain line every few
/// seconds (and one at the end) when stderr is a file or a pipe, nothing in `--json` mode. Stdout stays the
/// command's result alone, so a script reading it never sees progress.
public final class ProgressDisplay: Sendable {
    public enum Style: Sendable {
        /// A terminal: one line redrawn at most ten times a second.
        case live
        /// A file, a pipe, the journal: a plain line at most every `plainInterval`, and the last one.
        case plain
        /// `--json`: nothing.
        case silent
    }

    public let style: Style
    let liveInterval: Duration
    let plainInterval: Duration
    let output: @Sendable (String) -> Void
    private let state = Mutex(DrawState())

    private struct DrawState {
        /// When a running line was last written; nil draws the next one at once (live) or after an interval (plain).
        var lastDrawn: ContinuousClock.Instant?
        /// A live line is on the terminal and must be cleared before other text.
        var liveLineShown = false
    }

    /// A command's display: silent with `--json`, live when stderr is a terminal, plain lines otherwise.
    public convenience init(json: Bool) {
        self.init(style: json ? .silent : (isatty(STDERR_FILENO) == 1 ? .live : .plain))
    }

    /// `output` receives the text (standard error by default).
    public init(
        style: Style, liveInterval: Duration = .milliseconds(100), plainInterval: Duration = .seconds(5),
        output: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.style = style
        self.liveInterval = liveInterval
        self.plainInterval = plainInterval
        self.output = output
    }

    /// The operation moved; drawn when the style's interval has passed.
    public func update(_ meter: ProgressMeter) {
        update(line: meter.runningLine, startedAt: meter.startedAt)
    }

    /// A running line of the caller's, drawn like a meter's.
    public func update(line: @autoclosure () -> String, startedAt: ContinuousClock.Instant) {
        let interval: Duration
        switch style {
        case .silent: return
        case .live: interval = liveInterval
        case .plain: interval = plainInterval
        }
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            // The first plain line waits a whole interval: a quick operation prints only its last line.
            let reference = state.lastDrawn ?? (style == .plain ? startedAt : now - interval)
            guard now - reference >= interval else { return false }
            state.lastDrawn = now
            state.liveLineShown = style == .live
            return true
        }
        guard due else { return }
        output(style == .live ? "\r\u{1B}[2K" + line() : line() + "\n")
    }

    /// The operation ended; its summary line replaces the live one.
    public func finish(_ meter: ProgressMeter) {
        finish(line: meter.finishedLine)
    }

    /// Ends with a summary line of the caller's.
    public func finish(line: String) {
        state.withLock { $0 = DrawState() }
        switch style {
        case .silent: return
        case .live: output("\r\u{1B}[2K" + line + "\n")
        case .plain: output(line + "\n")
        }
    }

    /// Clears the live line, so that an error or a result line starts on a clean line; the progress line comes back
    /// with the next update. Plain lines need no clearing.
    public func abandon() {
        guard style == .live else { return }
        let shown = state.withLock { state -> Bool in
            defer { state = DrawState() }
            return state.liveLineShown
        }
        if shown { output("\r\u{1B}[2K") }
    }
}
