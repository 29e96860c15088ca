import Foundation
import PeerHarness

/// nginx serving one static file on 127.0.0.1: the floor the agent's boot endpoint is measured against. One worker per
/// core, access log off, everything under the benchmark's temporary directory; stopped by its PID.
final class StaticFileServer: Sendable {
    let port: Int
    let workers: Int
    private let master: PeerProcess

    /// Serves `body` at `path` (any query string).
    init(program: String, directory: TemporaryDirectory, path: String, body: String) async throws {
        port = FreePort.tcp()
        workers = ProcessInfo.processInfo.activeProcessorCount
        try directory.write("www\(path)", body)
        let root = directory.path
        try directory.write(
            "nginx.conf",
            """
            daemon off;
            user root;
            worker_processes \(workers);
            pid \(root)/nginx.pid;
            error_log \(root)/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                default_type text/plain;
                client_body_temp_path \(root)/client_body;
                proxy_temp_path \(root)/proxy;
                fastcgi_temp_path \(root)/fastcgi;
                uwsgi_temp_path \(root)/uwsgi;
                scgi_temp_path \(root)/scgi;
                server {
                    listen 127.0.0.1:\(port);
                    root \(root)/www;
                }
            }

            """)
        master = try await PeerProcess(
            name: "nginx", executable: program, arguments: ["-p", root, "-c", directory.file("nginx.conf"), "-e", directory.file("error.log")],
            logPath: directory.file("nginx.log"))
        let deadline = ContinuousClock.now + .seconds(10)
        while processes().count < workers + 1 || !Self.accepts(port) {
            guard master.isRunning, ContinuousClock.now < deadline else {
                await stop()
                throw BenchFailure(message: "nginx did not start: \((try? String(contentsOfFile: directory.file("error.log"), encoding: .utf8)) ?? "")")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The master and its workers.
    func processes() -> [pid_t] {
        let children = (try? String(contentsOfFile: "/proc/\(master.pid)/task/\(master.pid)/children", encoding: .utf8)) ?? ""
        return [master.pid] + children.split(separator: " ").compactMap { pid_t($0) }
    }

    /// Stops the master and waits for it; workers it left behind are killed by their PIDs.
    func stop() async {
        let workers = processes().dropFirst()
        await master.terminate()
        for pid in workers where ResourceUsage.ofRunningProcess(pid) != nil { kill(pid, SIGKILL) }
    }

    private static func accepts(_ port: Int) -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
