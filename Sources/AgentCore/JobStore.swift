import Crypto
import Foundation
import GRDB
import Logging
import Synchronization

public enum JobState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// The error part of a failed job: the envelope's code, message and details.
public struct JobError: Codable, Sendable, Equatable {
    public var code: String
    public var message: String
    public var status: Int
    public var details: [String: JSONValue]

    public init(_ error: AgentError) {
        code = error.code
        message = error.message
        status = error.status.rawValue
        details = error.details
    }
}

/// A unit of long or mutating work, persisted from submission to its end.
public struct Job: Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "job"

    public var jobId: String
    /// `power.setPowerOff`, `dhcp.regenerate`, `switch.setPortDisabled` ...
    public var kind: String
    /// The object acted on, e.g. `ipmi:10.0.0.5:623` or `network-device:12`.
    public var target: String
    public var state: JobState
    /// 0...1
    public var progress: Double
    public var message: String?
    public var result: JSONValue?
    public var error: JobError?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var idempotencyKey: String?
    public var requestFingerprint: String?

    public init(
        jobId: String, kind: String, target: String, state: JobState, progress: Double, message: String?, result: JSONValue?,
        error: JobError?, createdAt: Date, startedAt: Date?, finishedAt: Date?, idempotencyKey: String?, requestFingerprint: String?
    ) {
        self.jobId = jobId
        self.kind = kind
        self.target = target
        self.state = state
        self.progress = progress
        self.message = message
        self.result = result
        self.error = error
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.idempotencyKey = idempotencyKey
        self.requestFingerprint = requestFingerprint
    }

    /// Result and error are stored as JSON text.
    public init(row: Row) throws {
        jobId = row["jobId"]
        kind = row["kind"]
        target = row["target"]
        state = JobState(rawValue: row["state"]) ?? .failed
        progress = row["progress"]
        message = row["message"]
        let resultText: String? = row["result"]
        result = try resultText.map { try JSONCoding.decoder.decode(JSONValue.self, from: Data($0.utf8)) }
        let errorText: String? = row["error"]
        error = try errorText.map { try JSONCoding.decoder.decode(JobError.self, from: Data($0.utf8)) }
        createdAt = row["createdAt"]
        startedAt = row["startedAt"]
        finishedAt = row["finishedAt"]
        idempotencyKey = row["idempotencyKey"]
        requestFingerprint = row["requestFingerprint"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["jobId"] = jobId
        container["kind"] = kind
        container["target"] = target
        container["state"] = state.rawValue
        container["progress"] = progress
        container["message"] = message
        container["result"] = result?.jsonText
        container["error"] = try error.map { String(decoding: try JSONCoding.encoder.encode($0), as: UTF8.self) }
        container["createdAt"] = createdAt
        container["startedAt"] = startedAt
        container["finishedAt"] = finishedAt
        container["idempotencyKey"] = idempotencyKey
        container["requestFingerprint"] = requestFingerprint
    }

    /// The JSON the API and the `job.finished` event show.
    public var apiRepresentation: JSONValue { apiRepresentation(revealing: [:]) }

    /// The API form with secrets the job handed over put in place of their masks (the one read that returns them).
    public func apiRepresentation(revealing secrets: [String: Secret]) -> JSONValue {
        var object: [String: JSONValue] = [
            "jobId": .string(jobId), "kind": .string(kind), "target": .string(target), "state": .string(state.rawValue),
            "progress": .double(progress), "createdAt": .string(Self.timestamp(createdAt)),
        ]
        object["message"] = message.map(JSONValue.string) ?? .null
        object["result"] = result ?? .null
        if !secrets.isEmpty, case .object(var members)? = result {
            for (name, secret) in secrets { members[name] = .string(secret.revealed) }
            object["result"] = .object(members)
        }
        object["error"] = (try? error.map { try JSONValue(encoding: $0) }) ?? .null
        object["startedAt"] = startedAt.map { .string(Self.timestamp($0)) } ?? .null
        object["finishedAt"] = finishedAt.map { .string(Self.timestamp($0)) } ?? .null
        return .object(object)
    }

    static func timestamp(_ date: Date) -> String { UTCTime.iso8601(date) }
}

/// What the caller describes when submitting a job.
public struct JobRequest: Sendable {
    public var kind: String
    public var target: String
    /// Action-log line written when the job ends, e.g. "Executed Power Action setPowerOff".
    public var description: String
    public var rootType: String
    public var rootId: String
    public var idempotencyKey: String?
    /// Hash of the request (method, path, body) so a reused key with a different request is refused.
    public var requestFingerprint: String?

    public init(
        kind: String, target: String, description: String, rootType: String, rootId: String,
        idempotencyKey: String? = nil, requestFingerprint: String? = nil
    ) {
        self.kind = kind
        self.target = target
        self.description = description
        self.rootType = rootType
        self.rootId = rootId
        self.idempotencyKey = idempotencyKey
        self.requestFingerprint = requestFingerprint
    }

    /// SHA-256 over the parts that identify a request.
    public static func fingerprint(method: String, path: String, body: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(data: Array(method.utf8))
        hash.update(data: [0])
        hash.update(data: Array(path.utf8))
        hash.update(data: [0])
        hash.update(data: body)
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// Lets a running job report progress, add events to its end and hand a secret to the caller.
public struct JobContext: Sendable {
    public let jobId: String
    public let logger: Logger
    let store: JobStore
    let effects: JobEffects

    /// Records progress (0...1) and an optional human message.
    public func report(progress: Double, message: String? = nil) async {
        await store.updateProgress(jobId: jobId, progress: progress, message: message)
    }

    /// Appends `event` to the outbox in the transaction that records the job's end, so the controller hears of
    /// what the job did exactly when the job's state says it is done.
    public func emit(_ event: OutboxEvent) {
        effects.state.withLock { $0.events.append(event) }
    }

    /// A secret the job obtained for its caller (a root password a provider generated). The stored job, the
    /// action log and the `job.finished` event show `name` masked; the first read of the finished job through the
    /// API (the waiting request or `GET /v1/jobs/{id}`) shows it once, then it is forgotten. Never written to disk.
    public func handOver(_ name: String, _ secret: Secret) {
        effects.state.withLock { $0.secrets[name] = secret }
    }
}

/// What a running job leaves for its end: events for the final transaction, secrets for one read.
final class JobEffects: Sendable {
    let state = Mutex<(events: [OutboxEvent], secrets: [String: Secret])>(([], [:]))
}

/// Persists jobs and runs their work.
///
/// Submission returns at once with the queued job; the work runs in its own task. The final state, the
/// action-log row and the `job.finished` outbox event commit in one transaction. A repeat of an
/// `Idempotency-Key` returns the first job.
public final class JobStore: Sendable {
    public typealias Operation = @Sendable (JobContext) async throws -> JSONValue

    let database: AgentDatabase
    let outbox: Outbox
    let actionLog: ActionLog
    let logger: Logger
    private let running = Mutex<[String: Task<Void, Never>]>([:])
    /// Secrets finished jobs handed over, until the first API read takes them or an hour has passed (memory only).
    private let handedOver = Mutex<[String: (secrets: [String: Secret], at: ContinuousClock.Instant)]>([:])
    static let handOverLifetime = Duration.seconds(3600)

    public init(database: AgentDatabase, outbox: Outbox, actionLog: ActionLog, logger: Logger) {
        self.database = database
        self.outbox = outbox
        self.actionLog = actionLog
        self.logger = logger
    }

    /// Marks jobs that were queued or running when the agent stopped as failed ("agent restarted").
    /// Call once at start-up, before accepting requests.
    @discardableResult
    public func failInterruptedJobs() async throws -> Int {
        let interrupted = try await database.writer.write { db -> [Job] in
            let jobs = try Job.filter([JobState.queued.rawValue, JobState.running.rawValue].contains(Column("state"))).fetchAll(db)
            for var job in jobs {
                job.state = .failed
                job.finishedAt = Date()
                job.error = JobError(AgentError(status: .serviceUnavailable, code: "agent_restarted", message: "agent restarted"))
                job.message = "agent restarted"
                try job.update(db)
                try self.outbox.append(OutboxEvent(type: "job.finished", data: job.apiRepresentation), in: db)
            }
            return jobs
        }
        if !interrupted.isEmpty {
            logger.warning("jobs interrupted by a restart marked failed", metadata: ["count": "\(interrupted.count)"])
        }
        return interrupted.count
    }

    /// Persists a job and starts `operation`. With an idempotency key already used for the same request, the
    /// first job is returned and nothing runs; with the key used for a different request, 409.
    public func submit(_ request: JobRequest, operation: @escaping Operation) async throws -> Job {
        let now = Date()
        let candidate = Job(
            jobId: UUID().uuidString.lowercased(), kind: request.kind, target: request.target, state: .queued, progress: 0,
            message: nil, result: nil, error: nil, createdAt: now, startedAt: nil, finishedAt: nil,
            idempotencyKey: request.idempotencyKey, requestFingerprint: request.requestFingerprint)
        let (job, isNew) = try await database.writer.write { db -> (Job, Bool) in
            if let key = request.idempotencyKey, let existing = try Job.filter(Column("idempotencyKey") == key).fetchOne(db) {
                guard existing.requestFingerprint == request.requestFingerprint else {
                    throw AgentError.conflict(
                        "idempotency_key_reused", "Idempotency-Key \(key) was used for a different request",
                        details: ["jobId": .string(existing.jobId)])
                }
                return (existing, false)
            }
            try candidate.insert(db)
            return (candidate, true)
        }
        guard isNew else { return job }
        let context = JobContext(
            jobId: job.jobId, logger: logger.with(["job": "\(job.jobId)", "kind": "\(job.kind)"]), store: self, effects: JobEffects())
        // Created under the lock so the task's own removal (when it ends) cannot precede its registration.
        running.withLock { tasks in
            let fields = LogContext.fields(jobId: job.jobId, kind: job.kind, target: job.target, rootType: request.rootType, rootId: request.rootId)
            tasks[job.jobId] = Task {
                await LogContext.with(fields) {
                    await self.execute(job: job, request: request, context: context, operation: operation)
                }
            }
        }
        return job
    }

    /// Submits and waits for the end; the synchronous API calls use this.
    public func submitAndWait(_ request: JobRequest, operation: @escaping Operation) async throws -> Job {
        let job = try await submit(request, operation: operation)
        return try await waitForEnd(jobId: job.jobId)
    }

    /// Waits until the job has ended and returns it.
    public func waitForEnd(jobId: String) async throws -> Job {
        let task = running.withLock { $0[jobId] }
        await task?.value
        guard let job = try await job(id: jobId) else { throw AgentError.notFound("job", jobId) }
        return job
    }

    public func job(id: String) async throws -> Job? {
        try await database.writer.read { db in try Job.fetchOne(db, key: id) }
    }

    /// The secrets `job` handed over, removed as they are returned: the first caller that read the job as
    /// succeeded gets them, nobody after (and nobody after a restart).
    public func takeHandedOverSecrets(of job: Job) -> [String: Secret] {
        guard job.state == .succeeded else { return [:] }
        return handedOver.withLock { $0.removeValue(forKey: job.jobId)?.secrets } ?? [:]
    }

    /// Newest first, optionally filtered by state.
    public func jobs(state: JobState?, limit: Int) async throws -> [Job] {
        try await database.writer.read { db in
            var request = Job.order(Column("createdAt").desc)
            if let state { request = request.filter(Column("state") == state.rawValue) }
            return try request.limit(limit).fetchAll(db)
        }
    }

    /// Cancels every running job and waits for them to record their end (graceful shutdown).
    public func cancelAll() async {
        let tasks = running.withLock { Array($0.values) }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Deletes finished jobs older than `date`.
    public func prune(finishedBefore date: Date) async throws -> Int {
        try await database.writer.write { db in
            try Job.filter(Column("finishedAt") < date).deleteAll(db)
        }
    }

    func updateProgress(jobId: String, progress: Double, message: String?) async {
        do {
            try await database.writer.write { db in
                try db.execute(
                    sql: "UPDATE job SET progress = ?, message = COALESCE(?, message) WHERE jobId = ? AND state = 'running'",
                    arguments: [min(max(progress, 0), 1), message, jobId])
            }
        } catch {
            logger.error("cannot record job progress", metadata: ["job": "\(jobId)", "error": "\(error)"])
        }
    }

    private func execute(job: Job, request: JobRequest, context: JobContext, operation: Operation) async {
        defer { _ = running.withLock { $0.removeValue(forKey: job.jobId) } }
        var current = job
        current.state = .running
        current.startedAt = Date()
        do {
            try await database.writer.write { [current] db in try current.update(db) }
        } catch {
            logger.error("cannot mark job running", metadata: ["job": "\(job.jobId)", "error": "\(error)"])
        }
        let outcome: Result<JSONValue, any Error>
        do {
            outcome = .success(try await operation(context))
        } catch {
            outcome = .failure(error)
        }
        var finished = current
        finished.finishedAt = Date()
        let (events, secrets) = context.effects.state.withLock { ($0.events, $0.secrets) }
        let logEntry: ActionLogEntry
        switch outcome {
        case .success(var result):
            if !secrets.isEmpty, case .object(var members) = result {
                for name in secrets.keys { members[name] = .string(Secret.mask) }
                result = .object(members)
            }
            finished.state = .succeeded
            finished.progress = 1
            finished.result = result
            logEntry = ActionLogEntry(
                rootType: request.rootType, rootId: request.rootId, description: request.description,
                meta: ["text": .string(request.target), "jobId": .string(job.jobId)])
        case .failure(let error):
            let agentError = AgentError.from(error)
            finished.state = (error is CancellationError || Task.isCancelled) ? .cancelled : .failed
            finished.error = JobError(agentError)
            finished.message = agentError.message
            logEntry = ActionLogEntry(
                rootType: request.rootType, rootId: request.rootId,
                description: "\(request.description) failed: \(agentError.message)", loglevel: .error,
                meta: ["text": .string(request.target), "jobId": .string(job.jobId), "code": .string(agentError.code)])
        }
        // Waiting before the commit: whoever reads the finished job first, even in the instant after the commit,
        // finds them (readers take them only from a job they read as succeeded).
        if finished.state == .succeeded, !secrets.isEmpty {
            let now = ContinuousClock.now
            handedOver.withLock { waiting in
                waiting = waiting.filter { now - $0.value.at < Self.handOverLifetime }
                waiting[job.jobId] = (secrets, now)
            }
        }
        do {
            try await database.writer.write { [finished] db in
                if let stored = try Job.fetchOne(db, key: finished.jobId) {
                    var row = finished
                    row.message = finished.message ?? stored.message
                    try row.update(db)
                }
                try self.actionLog.append(logEntry, in: db)
                for event in events { try self.outbox.append(event, in: db) }
                try self.outbox.append(OutboxEvent(type: "job.finished", data: finished.apiRepresentation), in: db)
            }
        } catch {
            handedOver.withLock { _ = $0.removeValue(forKey: job.jobId) }
            logger.error("cannot record job end", metadata: ["job": "\(job.jobId)", "error": "\(error)"])
        }
        // The task's LogContext names the job, its target and its server or device.
        let seconds = String(format: "%.3f", (finished.finishedAt ?? Date()).timeIntervalSince(current.startedAt ?? Date()))
        switch finished.state {
        case .succeeded: logger.info("job succeeded", metadata: ["seconds": "\(seconds)"])
        case .cancelled: logger.notice("job cancelled", metadata: ["seconds": "\(seconds)"])
        default: logger.warning("job failed", metadata: ["seconds": "\(seconds)", "code": "\(finished.error?.code ?? "?")", "error": "\(finished.message ?? "")"])
        }
    }
}

extension Logger {
    /// A copy with extra metadata.
    public func with(_ metadata: Logger.Metadata) -> Logger {
        var copy = self
        for (key, value) in metadata { copy[metadataKey: key] = value }
        return copy
    }
}
