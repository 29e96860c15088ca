import AgentCore
import Foundation

/// A distribution mirror on 127.0.0.1: Python's http.server over a directory, extended with what real mirrors
/// do and the stock handler does not (ETag, If-None-Match, Range with If-Range), plus a one-time connection cut
/// after N bytes of a chosen file for the interrupted-download tests. Every request is logged with its headers.
public final class HTTPMirror: Sendable {
    public let root: TemporaryDirectory
    public let port: Int
    let process: PeerProcess
    let requestLog: String

    public struct Request: Sendable, Decodable, Equatable {
        public let path: String
        public let status: Int
        public let range: String?
        public let ifNoneMatch: String?
        public let ifModifiedSince: String?
        public let ifRange: String?
    }

    static let server = #"""
    import email.utils, http.server, json, os, re, socket, sys
    root, port, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cuts = {path: int(count) for path, count in (item.rsplit(":", 1) for item in sys.argv[4:])}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=root, **kwargs)

        def log_message(self, format, *args):
            pass

        def log_request(self, code="-", size="-"):
            entry = {"path": self.path, "status": int(code) if str(code).isdigit() else 0, "range": self.headers.get("Range"),
                     "ifNoneMatch": self.headers.get("If-None-Match"), "ifModifiedSince": self.headers.get("If-Modified-Since"),
                     "ifRange": self.headers.get("If-Range")}
            with open(log_path, "a") as log:
                log.write(json.dumps(entry) + "\n")

        def send_head(self):
            path = self.translate_path(self.path)
            if os.path.isdir(path) or not os.path.isfile(path):
                return super().send_head()
            info = os.stat(path)
            etag = '"%x-%x"' % (info.st_mtime_ns, info.st_size)
            modified = email.utils.formatdate(info.st_mtime, usegmt=True)
            if self.headers.get("If-None-Match") == etag or (
                    self.headers.get("If-None-Match") is None and self.headers.get("If-Modified-Since") == modified):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            size, start = info.st_size, 0
            wanted = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            match = re.fullmatch(r"bytes=(\d+)-", wanted or "")
            if match and (if_range is None or if_range in (etag, modified)):
                start = int(match.group(1))
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", "bytes */%d" % size)
                    self.end_headers()
                    return None
                self.send_response(206)
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size - start))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            source = open(path, "rb")
            source.seek(start)
            return source

        def copyfile(self, source, output):
            limit = cuts.pop(self.path, None)
            if limit is None:
                return super().copyfile(source, output)
            output.write(source.read(limit))
            output.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("listening on", port, flush=True)
    server.serve_forever()
    """#

    /// Serves `root`; `cuts` maps a URL path to the bytes sent before the connection is cut (once).
    public init(root: TemporaryDirectory, cuts: [String: Int] = [:]) async throws {
        self.root = root
        port = FreePort.tcp()
        let control = try TemporaryDirectory(prefix: "mirror-control")
        let script = try control.write("mirror.py", Self.server)
        requestLog = control.file("requests.jsonl")
        FileManager.default.createFile(atPath: requestLog, contents: nil)
        process = try await PeerProcess(
            name: "mirror", executable: "/usr/bin/python3",
            arguments: [script, root.path, String(port), requestLog] + cuts.map { "\($0.key):\($0.value)" },
            logPath: control.file("mirror.log"))
        // Its own line, not just an open port: something else on the port would not say it.
        try await process.waitForLog { $0.contains("listening on \(port)") }
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The requests served so far, oldest first.
    public func requests() -> [Request] {
        let text = (try? String(contentsOfFile: requestLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    public func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: (requestLog as NSString).deletingLastPathComponent)
    }
}
