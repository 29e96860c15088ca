import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `rackagent config check` verifies before anything starts: the files the configuration names can be read
/// (`serve` refuses the same file problems) and the listen addresses are free (`serve` fails on a taken one when its
/// listener starts).
public enum ConfigurationPreflight {
    /// One finding: the configuration key and what is wrong with it.
    public struct Problem: Sendable, Equatable, CustomStringConvertible, Error {
        public var key: String
        public var reason: String

        public var description: String { "\(key): \(reason)" }
    }

    /// Files that must exist and be readable (certificates, keys, CA bundles, the controller's token file). The API
    /// token file is generated when missing, so only a file that exists and cannot be read is a problem.
    public static func fileProblems(_ configuration: AgentConfiguration) -> [Problem] {
        var problems: [Problem] = []
        let required: [(String, String?)] = [
            ("api.tlsCertificateFile", configuration.api.tlsCertificateFile), ("api.tlsKeyFile", configuration.api.tlsKeyFile),
            ("api.clientCAFile", configuration.api.clientCAFile), ("console.tlsCertificateFile", configuration.console.tlsCertificateFile),
            ("console.tlsKeyFile", configuration.console.tlsKeyFile), ("controller.tokenFile", configuration.controller.tokenFile),
            ("controller.caFile", configuration.controller.caFile),
        ]
        for (key, path) in required {
            guard let path else { continue }
            if let reason = unreadable(path) { problems.append(Problem(key: key, reason: "\(path) \(reason)")) }
        }
        if let path = configuration.api.tokenFile, FileManager.default.fileExists(atPath: path), let reason = unreadable(path) {
            problems.append(Problem(key: "api.tokenFile", reason: "\(path) \(reason)"))
        }
        return problems
    }

    /// Listen addresses another process already holds (each tried with a bind, released at once).
    public static func portProblems(_ configuration: AgentConfiguration) -> [Problem] {
        var problems: [Problem] = []
        for (key, text) in [("api.listen", configuration.api.listen), ("boot.listen", configuration.boot.listen), ("console.listen", configuration.console.listen)] {
            guard let address = try? ListenAddress(parsing: text, key: key), address.port != 0 else { continue }
            if let reason = bindFailure(address) { problems.append(Problem(key: key, reason: "\(text) \(reason)")) }
        }
        return problems
    }

    static func unreadable(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        if isDirectory.boolValue { return "is a directory" }
        guard FileManager.default.isReadableFile(atPath: path) else { return "cannot be read (permissions)" }
        return nil
    }

    /// Binds a TCP socket to the address (SO_REUSEADDR, as the listeners do) and closes it; the error when it fails.
    static func bindFailure(_ address: ListenAddress) -> String? {
        let host = address.host.isEmpty ? "0.0.0.0" : address.host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(address.port), &hints, &list) == 0, let info = list else { return "does not resolve to an address" }
        defer { freeaddrinfo(list) }
        let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard descriptor >= 0 else { return "cannot be tried: \(String(cString: strerror(errno)))" }
        defer { close(descriptor) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            return errno == EADDRINUSE ? "is in use by another process (is an agent already running?)" : "cannot be bound: \(reason)"
        }
        return nil
    }
}
