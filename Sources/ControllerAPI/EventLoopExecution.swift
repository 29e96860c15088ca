import HummingbirdCore
import Logging
import NIOCore

/// Runs a task's jobs on one NIO event loop. A connection handled with it as the task executor preference reads,
/// routes and writes on its channel's own thread, instead of hopping to the cooperative pool and back for every
/// request (two thread wake-ups a request, most of the boot listener's cost under load).
///
/// Only for handlers that never block: a blocking call would stall every connection of that event loop. Work that
/// blocks goes through ``BlockingWork`` or an async API that runs elsewhere (GRDB, NIO's file I/O), as it must anyway.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // The closure keeps the executor alive until the job has run.
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// A child channel whose connections are handled on their own event loop (``EventLoopTaskExecutor``).
struct EventLoopBoundChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        let executor = EventLoopTaskExecutor(value.channel.eventLoop)
        await withTaskExecutorPreference(executor) {
            await base.handle(value: value, logger: logger)
        }
    }
}
