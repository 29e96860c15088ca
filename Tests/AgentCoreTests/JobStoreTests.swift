import AgentCore
import Foundation
import Logging
import PeerHarness
import Testing

/// A database, outbox, action log and job store in a temporary directory.
struct CoreFixture {
    let directory: TemporaryDirectory
    let database: AgentDatabase
    let outbox: Outbox
    let actionLog: ActionLog
    let jobs: JobStore

    init(directory: TemporaryDirectory? = nil, maximumEvents: Int = 10_000) throws {
        self.directory = try directory ?? TemporaryDirectory()
        database = try AgentDatabase(path: self.directory.file("agent.sqlite"), migrations: [])
        let logger = Logger(label: "test")
        outbox = Outbox(database: database, maximumEvents: maximumEvents, logger: logger)
        actionLog = ActionLog(database: database)
        jobs = JobStore(database: database, outbox: outbox, actionLog: actionLog, logger: logger)
    }
}

@Suite struct JobStoreTests {
    func request(key: String? = nil, fingerprint: String? = nil) -> JobRequest {
        JobRequest(
            kind: "test.work", target: "test:1", description: "Did test work", rootType: "tests", rootId: "1",
            idempotencyKey: key, requestFingerprint: fingerprint)
    }

    @Test func jobRunsToSuccessWithEventAndActionLog() async throws {
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        let job = try await fixture.jobs.submit(request()) { context in
            await context.report(progress: 0.5, message: "half way")
            return ["answer": 42]
        }
        #expect(job.state == .queued)
        let finished = try await fixture.jobs.waitForEnd(jobId: job.jobId)
        #expect(finished.state == .succeeded)
        #expect(finished.progress == 1)
        #expect(finished.result == ["answer": 42])
        #expect(finished.message == "half way")
        let events = try await fixture.outbox.pendingEvents()
        #expect(events.map(\.type) == ["job.finished"])
        #expect(events.first?.data["jobId"] == .string(job.jobId))
        #expect(events.first?.data["state"] == "succeeded")
        let log = try await fixture.actionLog.recent(limit: 10)
        #expect(log.first?.description == "Did test work")
        #expect(log.first?.loglevel == .info)
    }

    @Test func failedJobKeepsTheTypedError() async throws {
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        let job = try await fixture.jobs.submitAndWait(request()) { _ in
            throw AgentError(status: .gatewayTimeout, code: "bmc_unreachable", message: "BMC 10.0.0.9:623 did not answer")
        }
        #expect(job.state == .failed)
        #expect(job.error?.code == "bmc_unreachable")
        #expect(job.error?.status == 504)
        let log = try await fixture.actionLog.recent(limit: 1)
        #expect(log.first?.loglevel == .error)
    }

    @Test func idempotencyKeyReturnsTheFirstJob() async throws {
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        let runs = Counter()
        let first = try await fixture.jobs.submitAndWait(request(key: "k1", fingerprint: "f1")) { _ in
            await runs.increment()
            return "done"
        }
        let repeat_ = try await fixture.jobs.submit(request(key: "k1", fingerprint: "f1")) { _ in
            await runs.increment()
            return "again"
        }
        #expect(repeat_.jobId == first.jobId)
        #expect(repeat_.state == .succeeded)
        #expect(await runs.value == 1)
        await #expect(throws: AgentError.self) {
            try await fixture.jobs.submit(request(key: "k1", fingerprint: "other")) { _ in "x" }
        }
    }

    @Test func jobsRunningAtACrashAreFailedOnRestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let jobId: String
        do {
            let fixture = try CoreFixture(directory: directory)
            let job = try await fixture.jobs.submit(request()) { _ in
                try await Task.sleep(for: .seconds(3600))
                return "never"
            }
            jobId = job.jobId
            let deadline = ContinuousClock.now + .seconds(5)
            while try await fixture.jobs.job(id: jobId)?.state != .running, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(try await fixture.jobs.job(id: jobId)?.state == .running)
            // The process "crashes": this store is abandoned without finishing its job.
        }
        let restarted = try CoreFixture(directory: directory)
        #expect(try await restarted.jobs.failInterruptedJobs() == 1)
        let job = try #require(try await restarted.jobs.job(id: jobId))
        #expect(job.state == .failed)
        #expect(job.error?.code == "agent_restarted")
        #expect(job.message == "agent restarted")
    }

    @Test func listsByState() async throws {
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        _ = try await fixture.jobs.submitAndWait(request()) { _ in "ok" }
        _ = try await fixture.jobs.submitAndWait(request()) { _ in throw AgentError.unsupported("no") }
        #expect(try await fixture.jobs.jobs(state: .succeeded, limit: 10).count == 1)
        #expect(try await fixture.jobs.jobs(state: .failed, limit: 10).count == 1)
        #expect(try await fixture.jobs.jobs(state: nil, limit: 10).count == 2)
    }
}

actor Counter {
    private(set) var value = 0
    func increment() { value += 1 }
}
