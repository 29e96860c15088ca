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
            if meters[progress.file] == nil {
                meters[progress.file] = ProgressMeter(
                    label: "\(label)/\(progress.file)", unit: .bytes, total: progress.totalBytes, completed: progress.receivedBytes)
            }
            meters[progress.file]!.total = progress.totalBytes
            meters[progress.file]!.record(progress.receivedBytes)
            return progress.finished ? meters.removeValue(forKey: progress.file)! : meters[progress.file]!
        }
        if progress.finished { display.finish(meter) } else { display.update(meter) }
    }
}
