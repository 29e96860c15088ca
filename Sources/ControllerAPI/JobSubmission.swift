import AgentCore
import Foundation
import Hummingbird

/// Starts route work as a job and answers per DESIGN.md: 202 `{"jobId", "state"}` at once, or, with
/// `?wait=SECONDS` (at most 300), the finished job when it ends within that time.
public struct JobSubmission: Sendable {
    let runtime: AgentRuntime

    public init(runtime: AgentRuntime) {
        self.runtime = runtime
    }

    public func respond(
        to request: Request, payload: RequestPayload, kind: String, target: String, description: String,
        rootType: String, rootId: String, operation: @escaping JobStore.Operation
    ) async throws -> Response {
        let wait = try request.integerQuery("wait", default: 0, range: 0...300)
        let job = try await runtime.jobs.submit(
            JobRequest(
                kind: kind, target: target, description: description, rootType: rootType, rootId: rootId,
                idempotencyKey: payload.idempotencyKey, requestFingerprint: payload.fingerprint),
            operation: operation)
        guard wait > 0 else { return Envelope.accepted(job) }
        let finished = try await withThrowingTaskGroup(of: Job?.self) { group in
            group.addTask { try await runtime.jobs.waitForEnd(jobId: job.jobId) }
            group.addTask {
                try await Task.sleep(for: .seconds(wait))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let finished, finished.state.isFinished else { return Envelope.accepted(job) }
        return Envelope.success(finished.apiRepresentation(revealing: runtime.jobs.takeHandedOverSecrets(of: finished)))
    }
}
