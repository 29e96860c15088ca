import Metrics
import Prometheus
import Synchronization

/// Prometheus export of every swift-metrics metric the agent and its libraries record.
public enum AgentMetrics {
    /// The registry `/metrics` renders.
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    /// Installs the Prometheus backend for the process (once; later calls are ignored).
    public static func bootstrap() {
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.nameAndLabelSanitizer = { name, labels in
            (prometheusName(name), labels.map { (prometheusLabel($0.0), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
    }

    /// Prometheus text exposition format.
    public static func render() -> String {
        registry.emitToString()
    }

    static func prometheusName(_ name: String) -> String {
        switch name {
        case "hb.requests": return "rackagent_http_requests_total"
        case "hb.request.errors": return "rackagent_http_request_errors_total"
        case "http.server.request.duration": return "rackagent_http_request_duration_seconds"
        case "http.server.active_requests": return "rackagent_http_active_requests"
        default: return name.replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
        }
    }

    static func prometheusLabel(_ label: String) -> String {
        switch label {
        case "http.route": return "route"
        case "http.request.method": return "method"
        case "http.response.status_code", "error.type": return "status"
        default: return label.replacingOccurrences(of: ".", with: "_")
        }
    }
}
