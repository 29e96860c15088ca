import AgentCore
import Foundation
import Logging
import PeerHarness
import Provisioning
import Testing

/// The ISO registry on the OS cache: a download in progress is never waited for by a delete or a new registration,
/// and an outdated download never overwrites a newer registration.
@Suite struct ISORegistryTests {
    @Test(.timeLimit(.minutes(1))) func aDownloadInProgressBlocksNothing() async throws {
        let state = try TemporaryDirectory(prefix: "isos")
        defer { state.remove() }
        // A mirror that accepts the connection and never answers: the download hangs until the cache's timeout.
        let silent = FreePort.tcp()
        let holder = try await PeerProcess(
            name: "silent-mirror", executable: "/usr/bin/python3",
            arguments: ["-c", "import socket,time,sys\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('127.0.0.1',int(sys.argv[1])));s.listen(8);print('listening',flush=True)\nc=[]\nwhile True:\n  c.append(s.accept()[0])",
                        String(silent)],
            logPath: state.file("silent.log"))
        defer { holder.stop() }
        try await holder.waitForLog { $0.contains("listening") }
        let database = try AgentDatabase(path: state.file("agent.sqlite"), migrations: ISORegistry.migrations)
        let registry = ISORegistry(database: database, cache: OSCache(directory: state.file("cache"), timeoutSeconds: 12, attempts: 1, logger: Logger(label: "test")))
        let slow = try ISORegistration(id: "9", body: ["name": "slow", "downloadUrl": .string("http://127.0.0.1:\(silent)/slow.iso")])
        try await registry.register(slow)
        let download = Task { try await registry.fetch(slow) }
        try await Task.sleep(for: .milliseconds(500))

        let started = ContinuousClock.now
        do {
            _ = try await registry.remove("9")
            Issue.record("an image being downloaded was deleted")
        } catch {
            #expect(AgentError.from(error).code == "iso_fetching" && AgentError.from(error).status == .conflict)
        }
        let replacement = try ISORegistration(id: "9", body: ["name": "other", "downloadUrl": "http://127.0.0.1:9/other.iso"])
        try await registry.register(replacement)
        // The download hangs for 12 s; two database writes beside the whole suite have taken 2.4 s.
        #expect(ContinuousClock.now - started < .seconds(8), "neither call waited for the download")

        _ = await download.result
        let image = try #require(try await registry.image("9"))
        #expect(image.downloadUrl == replacement.downloadUrl && image.state == .pending, "the outdated download did not overwrite the new registration: \(image)")
        #expect(try await registry.remove("9"))
        do {
            _ = try await registry.fetch(replacement)
            Issue.record("a deleted image was downloaded")
        } catch {
            #expect(AgentError.from(error).code == "iso_replaced")
        }
        #expect(try await registry.image("9") == nil)
    }

    @Test func registrationsAreValidated() throws {
        let good = try ISORegistration(id: "12", body: ["name": "Debian", "downloadUrl": "https://mirror.example/debian-12.8.0-amd64-netinst.iso"])
        #expect(good.file == "debian-12.8.0-amd64-netinst.iso")
        let cases: [(String, JSONValue, String)] = [
            ("../x", ["name": "a", "downloadUrl": "http://h/a.iso"], "id"),
            ("1", ["downloadUrl": "http://h/a.iso"], "name"),
            ("1", ["name": "a\nb", "downloadUrl": "http://h/a.iso"], "name"),
            ("1", ["name": "a", "downloadUrl": "ftp://h/a.iso"], "downloadUrl"),
            ("1", ["name": "a", "downloadUrl": "http://user:pw@h/a.iso"], "downloadUrl"),
            ("1", ["name": "a", "downloadUrl": "http://h/get?id=5"], "downloadUrl"),
            ("1", ["name": "a", "downloadUrl": "http://h/dir/"], "downloadUrl"),
            ("1", ["name": "a", "downloadUrl": "http://h/a b.iso"], "downloadUrl"),
        ]
        for (id, body, field) in cases {
            do {
                _ = try ISORegistration(id: id, body: body)
                Issue.record("accepted \(id) \(body.jsonText)")
            } catch {
                #expect(AgentError.from(error).details["field"] == .string(field), "\(id) \(body.jsonText): \(AgentError.from(error))")
            }
        }
    }
}
