import AgentCore
import Provisioning
import Synchronization

/// The OS cache's download reports as progress lines, one meter per file.
final class DownloadProgressView: Sendable {
    let display: ProgressDisplay
    let label: String
    private let meters = Mutex<[String: ProgressMeter]>([:])

    init(display: ProgressDisplay, label: String) {
        self.display = display
        self.label = label
    }

    @Sendable func show(_ progress: DownloadProgress) {
        let meter = meters.withLock { meters -> ProgressMeter in
            var meter = meters[progress.file] ?? ProgressMeter(
                label: "\(label)/\(progress.file)", unit: .bytes, total: progress.totalBytes, completed: progress.receivedBytes)
            meter.total = progress.totalBytes
            meter.record(progress.receivedBytes)
            meters[progress.file] = progress.finished ? nil : meter
            return meter
        }
        if progress.finished { display.finish(meter) } else { display.update(meter) }
    }
}
