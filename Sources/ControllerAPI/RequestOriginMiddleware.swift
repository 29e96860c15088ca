import AgentCore
import Hummingbird

/// Makes the request being handled the ``RequestOrigin`` of every action-log entry written for it, including by the
/// jobs it starts (task-local values are inherited by the tasks a handler creates): the seed's activity-log
/// `endpoint`, `method` and `requestSource`. The path only: query strings can carry tokens, and a path that carries
/// one (`/v1/consoles/{token}`) is shown as its route. The same request is the ``LogContext`` of every log line
/// written while it is handled.
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = context.endpointPath.flatMap { $0.contains("{token}") ? $0 : nil } ?? request.uri.path
        return try await RequestOrigin.$current.withValue(RequestOrigin(endpoint: path, method: request.method.rawValue)) {
            try await LogContext.with(["request": "\(request.method.rawValue) \(path)"]) {
                try await next(request, context)
            }
        }
    }
}
