@testable import ControllerAPI
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import NIOPosix
import PeerHarness
import Synchronization
import Testing

/// Tasks that prefer an event loop run every job on it: across sleeps, yields, hops through NIO and back, child
/// tasks, and cancellation at random moments; none is lost (each ends within the time bound).
struct EventLoopTaskExecutorTests {
    final class Counts: Sendable {
        let offLoop = Mutex(0)
        let ended = Mutex(0)
    }

    @Test(.timeLimit(.minutes(1))) func everyJobRunsOnItsEventLoopAndEveryTaskEnds() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let counts = Counts()
        var generator = SplitMix(seed: 17)
        var tasks: [Task<Int, Never>] = []
        for _ in 0..<300 {
            let loop = group.next()
            tasks.append(
                Task(executorPreference: EventLoopTaskExecutor(loop)) {
                    defer { counts.ended.withLock { $0 += 1 } }
                    var steps = 0
                    for step in 0..<20 {
                        if !loop.inEventLoop { counts.offLoop.withLock { $0 += 1 } }
                        do {
                            try await Task.sleep(for: .microseconds(200))
                        } catch {
                            break
                        }
                        await Task.yield()
                        let echoed = try? await loop.submit { step }.get()
                        if echoed != step { break }
                        // Child tasks inherit the preference.
                        await withTaskGroup(of: Bool.self) { children in
                            children.addTask { loop.inEventLoop }
                            for await onLoop in children where !onLoop { counts.offLoop.withLock { $0 += 1 } }
                        }
                        steps += 1
                    }
                    if !loop.inEventLoop { counts.offLoop.withLock { $0 += 1 } }
                    return steps
                })
        }
        var cancelled = 0
        for task in tasks where generator.below(3) == 0 {
            try await Task.sleep(for: .microseconds(generator.below(2000)))
            task.cancel()
            cancelled += 1
        }
        var finished = 0
        for task in tasks where await task.value == 20 { finished += 1 }
        #expect(counts.offLoop.withLock { $0 } == 0, "jobs ran off their event loop")
        #expect(counts.ended.withLock { $0 } == tasks.count)
        #expect(finished >= tasks.count - cancelled, "only \(finished) of \(tasks.count - cancelled) uncancelled tasks ran all their steps")
        try await group.shutdownGracefully()
    }

    /// A boot route that reads bodies runs off the event loop its connection is handled on.
    @Test func bootRoutesThatReadBodiesLeaveTheEventLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let onLoop = Mutex<[Bool]>([])
        let route = BootRoutes.onCooperativePool { _, _ in
            onLoop.withLock { $0.append(loop.inEventLoop) }
            try await Task.sleep(for: .milliseconds(1))
            onLoop.withLock { $0.append(loop.inEventLoop) }
            return Response(status: .ok)
        }
        let seen = await Task(executorPreference: EventLoopTaskExecutor(loop)) { () -> (before: Bool, after: Bool) in
            let before = loop.inEventLoop
            let channel = EmbeddedChannel()
            let context = AgentRequestContext(source: .init(channel: channel, logger: Logger(label: "test")))
            _ = try? await route(Request(head: .init(method: .post, scheme: "http", authority: "test", path: "/boot/t/progress"), body: .init(buffer: ByteBuffer())), context)
            return (before, loop.inEventLoop)
        }.value
        #expect(seen.before && seen.after, "the connection's own code runs on its event loop")
        #expect(onLoop.withLock { $0 } == [false, false], "the route ran on the event loop")
        try await group.shutdownGracefully()
    }
}
