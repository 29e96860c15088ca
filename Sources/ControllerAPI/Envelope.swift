import AgentCore
import Foundation
import Hummingbird
import NIOCore

/// Builds responses in the seed's envelope:
/// success `{"result": ..., "message": "success"}`,
/// failure `{"result": "<message>", "message": "Exception", "error": {"code": ..., "details": {...}}}`.
public enum Envelope {
    public static func success(_ result: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        json(["result": result, "message": "success"], status: status)
    }

    public static func success(encoding value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        success(try JSONValue(encoding: value), status: status)
    }

    /// A job accepted for asynchronous execution (202).
    public static func accepted(_ job: Job) -> Response {
        success(["jobId": .string(job.jobId), "state": .string(job.state.rawValue)], status: .accepted)
    }

    public static func failure(_ error: AgentError) -> Response {
        let body: JSONValue = [
            "result": .string(error.message),
            "message": "Exception",
            "error": ["code": .string(error.code), "details": .object(error.details)],
        ]
        return json(body, status: HTTPResponse.Status(code: error.status.rawValue))
    }

    public static func json(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        let bytes = (try? value.serialized()) ?? Array("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    public static func text(_ text: String, contentType: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
