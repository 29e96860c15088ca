import AgentCore
import Power

extension PowerOutcome {
    /// The seed's shape: a read is the bare state word, a command's output the bare text, a change or a boot device
    /// the driver's report object.
    func seedValue() throws -> JSONValue {
        switch self {
        case .state(let state): return .string(state.rawValue)
        case .change(let report): return try JSONValue(encoding: report)
        case .bootDevice(let report): return try JSONValue(encoding: report)
        case .bmcReset(let report): return try JSONValue(encoding: report)
        case .commandOutput(let output): return .string(output)
        }
    }
}

extension PowerResult {
    /// A job's result: the outcome's seed shape, or, when the fallback produced it, that shape under `result` next to
    /// the connection type that answered (`via`) and the primary's error.
    func jobResult() throws -> JSONValue {
        let value = try outcome.seedValue()
        guard let failover else { return value }
        return [
            "result": value, "via": .string(failover.via),
            "primaryError": [
                "code": .string(failover.primaryError.code), "message": .string(failover.primaryError.message),
                "deviceEffect": .string(failover.deviceEffect.rawValue),
            ],
        ]
    }
}
