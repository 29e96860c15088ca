import AgentCore
import Foundation
import Hummingbird

/// Makes the request being handled the ``RequestOrigin`` of every action-log entry written for it, including by the
/// jobs it starts (task-local values are inherited by the tasks a handler creates): the seed's activity-log
/// `endpoint`, `method` and `requestSource`. The same request is the ``LogContext`` of every log line written while it
/// is handled. The path only (query strings can carry tokens), and see ``shownPath(_:route:)``.
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = RequestOriginPath.shown(request.uri.path, route: context.endpointPath)
        return try await RequestOrigin.$current.withValue(RequestOrigin(endpoint: path, method: request.method.rawValue)) {
            try await LogContext.with(["request": "\(request.method.rawValue) \(path)"]) {
                try await next(request, context)
            }
        }
    }
}

/// The path a request is logged and recorded under.
package enum RequestOriginPath {
    /// The request's own path (`/v1/installations/61`), or its route (`/v1/consoles/{token}`) when a route parameter
    /// is a token of any kind: a secret never reaches a log line or the action log through a path.
    package static func shown(_ path: String, route: String?) -> String {
        guard let route, route.range(of: #"\{[^}]*token[^}]*\}"#, options: [.regularExpression, .caseInsensitive]) != nil else { return path }
        return route
    }
}
