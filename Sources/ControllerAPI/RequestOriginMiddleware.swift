import AgentCore
import Hummingbird

/// Makes the request being handled the ``RequestOrigin`` of every action-log entry written for it, including by the
/// jobs it starts (task-local values are inherited by the tasks a handler creates): the seed's activity-log
/// `endpoint`, `method` and `requestSource`. The path only: query strings can carry tokens.
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await RequestOrigin.$current.withValue(RequestOrigin(endpoint: request.uri.path, method: request.method.rawValue)) {
            try await next(request, context)
        }
    }
}
