/// The agent's release version, reported by `/v1/info`, `rackagent info` and the CLI's `--version`.
public enum AgentVersion {
    public static let current = "0.1.0"
}
