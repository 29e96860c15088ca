import AgentCore
import Foundation
import PeerHarness
import Testing

@Suite struct ScratchDirectoryTests {
    /// A shell command's secrets go to the invoking user's own directory, never the daemon's.
    @Test func theCommandLineUsesTheUsersOwnDirectory() throws {
        let home = try TemporaryDirectory(prefix: "scratch-home")
        defer { home.remove() }
        let runtime = try TemporaryDirectory(prefix: "scratch-runtime")
        defer { runtime.remove() }
        #expect(try ScratchDirectory.forCommandLine(environment: ["XDG_RUNTIME_DIR": runtime.path, "HOME": home.path]).path
            == runtime.path + "/rackagent-scratch")
        #expect(try ScratchDirectory.forCommandLine(environment: ["HOME": home.path]).path == home.path + "/.cache/rackagent-scratch")
        #expect(try ScratchDirectory.forCommandLine(environment: ["XDG_RUNTIME_DIR": "/nonexistent-runtime", "HOME": home.path]).path
            == home.path + "/.cache/rackagent-scratch")
        #expect(try ScratchDirectory.forCommandLine(environment: [:], userHome: home.path).path == home.path + "/.cache/rackagent-scratch")
        #expect(throws: AgentError.self) { try ScratchDirectory.forCommandLine(environment: [:], userHome: nil) }
    }

    /// The file exists, 0600, only while the body runs, and is gone after it throws too.
    @Test func aFileExistsOnlyWhileItsBodyRuns() async throws {
        let state = try TemporaryDirectory(prefix: "scratch-state")
        defer { state.remove() }
        let scratch = ScratchDirectory(stateDirectory: state.path)
        let seen = try await scratch.withFile("secret", contents: Data("hunter2".utf8)) { path -> String in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            return try String(contentsOfFile: path, encoding: .utf8)
        }
        #expect(seen == "hunter2")
        await #expect(throws: CancellationError.self) {
            try await scratch.withFile("secret", contents: Data("x".utf8)) { _ in throw CancellationError() }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }

    /// A scratch directory another user made (a command run as root before the daemon's first start) is moved aside
    /// by the daemon, never used, and never stops it. Needs root to make a directory another user owns.
    @Test(.enabled(if: geteuid() == 0)) func aDirectoryOfAnotherUserIsMovedAside() throws {
        let state = try TemporaryDirectory(prefix: "scratch-foreign")
        defer { state.remove() }
        let scratch = ScratchDirectory(stateDirectory: state.path)
        try FileManager.default.createDirectory(atPath: scratch.path, withIntermediateDirectories: true)
        #expect(chown(scratch.path, 65534, 65534) == 0)
        let note = try #require(try scratch.prepare(emptying: true))
        #expect(note.contains("uid 65534"), "\(note)")
        var status = stat()
        #expect(lstat(scratch.path, &status) == 0 && status.st_uid == geteuid() && status.st_mode & 0o777 == 0o700)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.path).contains { $0.hasPrefix("scratch.foreign-") })
        // Outside the daemon (no emptying), another user's directory is an error, not silently used.
        #expect(chown(scratch.path, 65534, 65534) == 0)
        #expect(throws: AgentError.self) { try scratch.prepare(emptying: false) }
    }
}
