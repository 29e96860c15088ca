import AgentCore
import Foundation
import Synchronization
import Testing

@Suite struct ProgressTests {
    /// Rates follow the last seconds, not the average since the start; the time left comes from that rate.
    @Test func rateAndTimeLeftFollowTheRecentSpeed() {
        let start = ContinuousClock.now
        var meter = ProgressMeter(label: "debian/linux", unit: .bytes, total: 100 << 20, startedAt: start)
        #expect(meter.rate == nil, "no rate before any time has passed")
        #expect(meter.runningLine == "debian/linux  0 B of 100.0 MiB (0%)")
        // 1 MiB/s for ten seconds, then 4 MiB/s for six: the window (5 s) sees only the fast part.
        for second in 1...10 { meter.record(Int64(second) << 20, at: start + .seconds(second)) }
        #expect(abs((meter.rate ?? 0) - 1_048_576) < 1)
        for second in 1...6 { meter.record(Int64(10 + 4 * second) << 20, at: start + .seconds(10 + second)) }
        #expect(abs((meter.rate ?? 0) - 4 * 1_048_576) < 1)
        #expect(meter.completed == 34 << 20)
        // 66 MiB left at 4 MiB/s: 16.5 s.
        #expect(meter.remaining == .milliseconds(16_500))
        #expect(meter.runningLine == "debian/linux  34.0 MiB of 100.0 MiB (34%)  4.0 MiB/s  ETA 0:17")
        meter.record(100 << 20, at: start + .seconds(20))
        #expect(meter.finishedLine == "debian/linux  100.0 MiB in 20.0 s (5.0 MiB/s)")
    }

    /// A resumed download's first part was there before: the rate and the average count only what this run fetched.
    @Test func aResumedDownloadCountsOnlyWhatItFetched() {
        let start = ContinuousClock.now
        var meter = ProgressMeter(label: "initrd", unit: .bytes, total: 10_000_000, completed: 8_000_000, startedAt: start)
        meter.record(9_000_000, at: start + .seconds(2))
        #expect(meter.rate == 500_000)
        #expect(meter.remaining == .seconds(2))
        meter.record(10_000_000, at: start + .seconds(4))
        #expect(meter.finishedLine == "initrd  9.5 MiB in 4.0 s (488.3 KiB/s)")
    }

    /// A download reporting every few microseconds keeps a small window (about one sample per tenth of a second) and
    /// the same rate.
    @Test func aFastStreamKeepsASmallWindow() {
        let start = ContinuousClock.now
        var meter = ProgressMeter(label: "iso", unit: .bytes, total: 1 << 40, startedAt: start)
        for step in 1...200_000 { meter.record(Int64(step) * 16_384, at: start + .microseconds(step * 50)) }
        #expect(meter.windowCount <= 60, "\(meter.windowCount) samples kept")
        #expect(abs((meter.rate ?? 0) - 16_384 / 0.000_05) / (16_384 / 0.000_05) < 0.01)
    }

    /// Counted things without a total: no percentage, no ETA; an unmoving operation has no time left.
    @Test func itemsWithoutATotal() {
        let start = ContinuousClock.now
        var meter = ProgressMeter(label: "walk 1.3.6.1.2.1.2", unit: .items("values"), startedAt: start)
        meter.record(1200, at: start + .seconds(3))
        #expect(meter.runningLine == "walk 1.3.6.1.2.1.2  1200 values  400 values/s")
        #expect(meter.remaining == nil)
        var stalled = ProgressMeter(label: "x", unit: .bytes, total: 10, startedAt: start)
        stalled.record(0, at: start + .seconds(30))
        #expect(stalled.remaining == nil, "a stalled download has no ETA, not an infinite one")
        #expect(meter.finishedLine == "walk 1.3.6.1.2.1.2  1200 values in 3.0 s (400 values/s)")
        var counted = ProgressMeter(label: "agent API", unit: .items("calls"), total: 400, startedAt: start)
        counted.record(100, at: start + .seconds(2))
        #expect(counted.runningLine == "agent API  100 of 400 calls (25%)  50 calls/s  ETA 0:06")
    }

    @Test func unitsAndClocks() {
        #expect(ProgressMeter.bytes(0) == "0 B")
        #expect(ProgressMeter.bytes(1023) == "1023 B")
        #expect(ProgressMeter.bytes(1536) == "1.5 KiB")
        #expect(ProgressMeter.bytes(5 * 1_073_741_824) == "5.00 GiB")
        #expect(ProgressMeter.bytes(1_649_267_441_664) == "1.50 TiB")
        #expect(ProgressMeter.clock(.seconds(6)) == "0:06")
        #expect(ProgressMeter.clock(.seconds(754)) == "12:34")
        #expect(ProgressMeter.clock(.seconds(3723)) == "1:02:03")
        #expect(ProgressMeter.clock(.seconds(-5)) == "0:00")
        #expect(ProgressMeter.seconds(.milliseconds(420)) == "0.4 s")
        #expect(ProgressMeter.seconds(.seconds(125)) == "2:05")
    }

    /// A terminal gets one line redrawn in place (carriage return, erase line), throttled; the summary ends it with a
    /// newline; clearing before an error leaves nothing of the live line.
    @Test func aTerminalGetsOneLiveLine() async throws {
        let written = Mutex<[String]>([])
        let display = ProgressDisplay(style: .live, liveInterval: .milliseconds(50)) { text in written.withLock { $0.append(text) } }
        var meter = ProgressMeter(label: "file", unit: .bytes, total: 1000)
        for step in 1...100 {
            meter.record(Int64(step))
            display.update(meter)
        }
        let burst = written.withLock { $0 }
        #expect(burst.count == 1, "a burst of updates is drawn once: \(burst)")
        #expect(burst.first?.hasPrefix("\r\u{1B}[2Kfile  1 B of 1000 B") == true)
        try await Task.sleep(for: .milliseconds(60))
        meter.record(500)
        display.update(meter)
        #expect(written.withLock { $0.count } == 2)
        display.abandon()
        #expect(written.withLock { $0.last } == "\r\u{1B}[2K")
        display.abandon()
        #expect(written.withLock { $0.count } == 3, "nothing to clear the second time")
        display.finish(meter)
        let last = try #require(written.withLock { $0.last })
        #expect(last.hasPrefix("\r\u{1B}[2Kfile  500 B in ") && last.hasSuffix("\n"))
        #expect(!written.withLock { $0 }.contains { $0.contains("\n") && $0 != last }, "only the summary ends a line")
    }

    /// A pipe or file gets whole lines, the first only after an interval (a quick operation prints its summary alone);
    /// `--json` gets nothing at all.
    @Test func aPipeGetsPlainLinesAndJSONNothing() async throws {
        let written = Mutex<[String]>([])
        let display = ProgressDisplay(style: .plain, plainInterval: .milliseconds(200)) { text in written.withLock { $0.append(text) } }
        var meter = ProgressMeter(label: "walk", unit: .items("values"))
        meter.record(10)
        display.update(meter)
        #expect(written.withLock { $0.isEmpty }, "nothing before the first interval")
        try await Task.sleep(for: .milliseconds(250))
        meter.record(20)
        display.update(meter)
        display.update(meter)
        #expect(written.withLock { $0 } == [meter.runningLine + "\n"])
        display.abandon()
        display.finish(meter)
        #expect(written.withLock { $0.count } == 2 && written.withLock { $0.last } == meter.finishedLine + "\n")
        #expect(!written.withLock { $0 }.joined().contains("\u{1B}"), "no terminal control in plain lines")

        let silent = Mutex<[String]>([])
        let quiet = ProgressDisplay(style: .silent, liveInterval: .zero, plainInterval: .zero) { text in silent.withLock { $0.append(text) } }
        quiet.update(meter)
        quiet.abandon()
        quiet.finish(meter)
        #expect(silent.withLock { $0.isEmpty })
    }
}
