import AgentCore
import Hummingbird
import Logging
import NIOCore

/// Turns every error a route throws into the envelope with its status: typed agent errors keep their
/// code, decoding errors become 400s naming the field, unknown routes 404, oversized bodies 413.
/// Anything unexpected is logged and answered 500 without internals.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The body limit, named in 413 answers.
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let agentError = Self.agentError(for: error, request: request, bodyLimit: bodyLimit)
            if agentError.status == .internalError {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return Envelope.failure(agentError)
        }
    }

    static func agentError(for error: any Error, request: Request, bodyLimit: Int) -> AgentError {
        switch error {
        case is NIOTooManyBytesError:
            return .contentTooLarge(limit: bodyLimit)
        case let httpError as HTTPError:
            switch httpError.status {
            case .notFound:
                return AgentError(
                    status: .notFound, code: "route_not_found", message: "no route \(request.method) \(request.uri.path)",
                    details: ["path": .string(request.uri.path)])
            case .contentTooLarge:
                return .contentTooLarge(limit: bodyLimit)
            case .methodNotAllowed:
                return AgentError(status: .notFound, code: "route_not_found", message: "no route \(request.method) \(request.uri.path)")
            default:
                let status = AgentError.Status(rawValue: Int(httpError.status.code)) ?? .badRequest
                return AgentError(status: status, code: "http_\(httpError.status.code)", message: httpError.body ?? httpError.status.reasonPhrase)
            }
        default:
            return AgentError.from(error)
        }
    }
}
