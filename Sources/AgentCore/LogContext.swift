import Logging

/// What the work a task does concerns (a job, a server, a device), carried by the task so that every log line
/// written on its behalf says so, whichever module's logger writes it: the JSON log of an agent with a hundred BMCs
/// is searchable by job, server and device.
public enum LogContext {
    @TaskLocal public static var fields: [String: String] = [:]

    /// Runs `operation` with `fields` added to the current task's context (inner values win).
    public static func with<Value>(
        _ fields: [String: String], isolation: isolated (any Actor)? = #isolation, _ operation: () async throws -> Value
    ) async rethrows -> Value {
        try await $fields.withValue(self.fields.merging(fields) { _, inner in inner }, operation: operation, isolation: isolation)
    }

    /// Runs `operation` with exactly `fields`: for work that outlives the request or job that starts it (an
    /// installation's driver, a BMC's shared serial session), so that it does not keep naming its starter.
    public static func replacing<Value>(
        with fields: [String: String], isolation: isolated (any Actor)? = #isolation, _ operation: () async throws -> Value
    ) async rethrows -> Value {
        try await $fields.withValue(fields, operation: operation, isolation: isolation)
    }

    /// The context a job runs in: its id and kind, what it acts on, and the server or device it belongs to.
    public static func fields(jobId: String, kind: String, target: String, rootType: String, rootId: String) -> [String: String] {
        var fields = ["job": jobId, "kind": kind, "target": target]
        switch rootType {
        case "servers", "serverPower": fields["serverId"] = rootId
        case "bmcUsers", "bmcSel": fields["bmc"] = rootId
        case "agents", "": break
        default: fields["device"] = rootId
        }
        return fields
    }

    /// Hands the context to every log line (the process's logging bootstrap installs it).
    public static let metadataProvider = Logger.MetadataProvider {
        fields.mapValues { .string($0) }
    }
}
