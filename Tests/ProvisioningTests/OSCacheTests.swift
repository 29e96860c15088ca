import AgentCore
import Crypto
import Foundation
import Logging
import PeerHarness
import Provisioning
import Testing

/// The OS file cache against a real HTTP mirror on loopback (Python's http.server with ETag and Range).
@Suite struct OSCacheTests {
    static func bytes(_ count: Int, seed: UInt8) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    /// A mirror laid out like Rocky's BaseOS: images/pxeboot/{vmlinuz,initrd.img}.
    func withMirror(cuts: [String: Int] = [:], sums: Bool = false, _ body: (HTTPMirror, OSCache, TemporaryDirectory) async throws -> Void) async throws {
        let root = try TemporaryDirectory(prefix: "mirror")
        let cacheDirectory = try TemporaryDirectory(prefix: "oscache")
        defer {
            root.remove()
            cacheDirectory.remove()
        }
        let kernel = Self.bytes(300_000, seed: 1)
        let initrd = Self.bytes(400_000, seed: 2)
        try FileManager.default.createDirectory(atPath: root.file("rocky/images/pxeboot"), withIntermediateDirectories: true)
        try kernel.write(to: URL(fileURLWithPath: root.file("rocky/images/pxeboot/vmlinuz")))
        try initrd.write(to: URL(fileURLWithPath: root.file("rocky/images/pxeboot/initrd.img")))
        if sums {
            // Debian-style: one SHA256SUMS a level up, paths relative to it.
            try root.write("rocky/images/SHA256SUMS", "\(Self.sha256(kernel))  ./pxeboot/vmlinuz\n\(Self.sha256(initrd))  ./pxeboot/initrd.img\n")
        }
        let mirror = try await HTTPMirror(root: root, cuts: cuts)
        defer { mirror.stop() }
        let cache = OSCache(directory: cacheDirectory.path, timeoutSeconds: 30, logger: Logger(label: "test"))
        try await body(mirror, cache, root)
    }

    func profile(_ mirror: HTTPMirror, policy: String = "smartCaching", files: [String]? = nil) throws -> PXEProfile {
        var members: [String: JSONValue] = [
            "osName": "Rocky 9", "pxeType": "kickstart", "mirrorUrl": .string("\(mirror.baseURL)/rocky/"), "cacheDirectory": "rocky9",
            "pxe_file_caching_policy": .string(policy),
        ]
        if let files { members["cacheFiles"] = .array(files.map(JSONValue.string)) }
        return try PXEProfile(.object(members))
    }

    @Test func smartCachingRevalidatesWithETagAndRefetchesChangedFiles() async throws {
        try await withMirror { mirror, cache, root in
            let profile = try profile(mirror)
            let first = try await cache.prepare(profile)
            #expect(first.downloaded == ["images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"])
            let served = try #require(cache.servedFile(cacheDirectory: "rocky9", path: "images/pxeboot/initrd.img"))
            #expect(FileManager.default.contents(atPath: served) == Self.bytes(400_000, seed: 2))

            let second = try await cache.prepare(profile)
            #expect(second.revalidated == ["images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"])
            let conditional = mirror.requests().suffix(2)
            #expect(conditional.allSatisfy { $0.status == 304 && $0.ifNoneMatch?.hasPrefix("\"") == true })

            let newKernel = Self.bytes(310_000, seed: 9)
            try newKernel.write(to: URL(fileURLWithPath: root.file("rocky/images/pxeboot/vmlinuz")))
            let third = try await cache.prepare(profile)
            #expect(third.downloaded == ["images/pxeboot/vmlinuz"])
            #expect(third.revalidated == ["images/pxeboot/initrd.img"])
            #expect(FileManager.default.contents(atPath: cache.servedFile(cacheDirectory: "rocky9", path: "images/pxeboot/vmlinuz")!) == newKernel)

            let listing = cache.list()
            #expect(listing.count == 1)
            #expect(listing[0]["bytes"] == .integer(710_000))
            #expect(listing[0]["files"] == 2)
        }
    }

    @Test func keepAsLongAsPossibleDoesNotAskTheMirrorAgain() async throws {
        try await withMirror { mirror, cache, _ in
            let profile = try profile(mirror, policy: "keepAsLongAsPossible")
            _ = try await cache.prepare(profile)
            let before = mirror.requests().count
            let again = try await cache.prepare(profile)
            #expect(again.reused.count == 2)
            #expect(mirror.requests().count == before)
        }
    }

    @Test func anInterruptedDownloadResumesWithRange() async throws {
        try await withMirror(cuts: ["/rocky/images/pxeboot/initrd.img": 150_000], sums: true) { mirror, cache, _ in
            let result = try await cache.prepare(try profile(mirror))
            #expect(result.downloaded.count == 2)
            let initrdRequests = mirror.requests().filter { $0.path == "/rocky/images/pxeboot/initrd.img" }
            #expect(initrdRequests.count == 2)
            let resumedAt = initrdRequests.last?.range.flatMap { Int($0.dropFirst("bytes=".count).dropLast()) } ?? 0
            #expect(resumedAt > 0 && resumedAt <= 150_000, "resumed from what arrived before the cut: \(initrdRequests.last?.range ?? "no range")")
            #expect(initrdRequests.last?.ifRange?.hasPrefix("\"") == true)
            #expect(initrdRequests.last?.status == 206)
            let served = try #require(cache.servedFile(cacheDirectory: "rocky9", path: "images/pxeboot/initrd.img"))
            #expect(FileManager.default.contents(atPath: served) == Self.bytes(400_000, seed: 2))
            guard case .array(let files)? = cache.list().first?["details"] else {
                Issue.record("no cache details")
                return
            }
            #expect(files.count == 2)
            #expect(files.allSatisfy { $0["verified"] == true }, "checked against the mirror's SHA256SUMS")
        }
    }

    @Test func aChecksumMismatchFailsNamingTheURL() async throws {
        try await withMirror(sums: true) { mirror, cache, root in
            try root.write("rocky/images/SHA256SUMS", "\(String(repeating: "0", count: 64))  ./pxeboot/vmlinuz\n")
            await #expect(throws: OSCacheError.checksumMismatch(
                url: "\(mirror.baseURL)/rocky/images/pxeboot/vmlinuz", expected: String(repeating: "0", count: 64),
                actual: Self.sha256(Self.bytes(300_000, seed: 1)))) {
                try await cache.prepare(try profile(mirror))
            }
            #expect(cache.servedFile(cacheDirectory: "rocky9", path: "images/pxeboot/vmlinuz") == nil)
        }
    }

    @Test func aMissingFileFailsNamingTheURL() async throws {
        try await withMirror { mirror, cache, _ in
            do {
                _ = try await cache.prepare(try profile(mirror, files: ["images/pxeboot/vmlinuz", "images/pxeboot/missing.img"]))
                Issue.record("a 404 must fail the preparation")
            } catch let error as OSCacheError {
                guard case .downloadFailed(let url, let reason) = error else { throw error }
                #expect(url == "\(mirror.baseURL)/rocky/images/pxeboot/missing.img")
                #expect(reason.contains("404"))
                #expect(error.agentError.status == .badGateway)
            }
        }
    }

    @Test func dailyCleanupRemovesOldDirectoriesNotInUse() async throws {
        try await withMirror { mirror, cache, _ in
            let twoDaysAgo = Date().addingTimeInterval(-2 * 86_400)
            _ = try await cache.prepare(try profile(mirror, policy: "dailyCleanup"), now: twoDaysAgo)
            #expect(await cache.dailyCleanup(inUse: ["rocky9"]).isEmpty)
            #expect(await cache.dailyCleanup(inUse: []) == ["rocky9"])
            #expect(cache.list().isEmpty)
            _ = try await cache.prepare(try profile(mirror, policy: "smartCaching"), now: twoDaysAgo)
            #expect(await cache.dailyCleanup(inUse: []).isEmpty, "only dailyCleanup directories are removed")
            #expect(try await cache.clear("rocky9"))
            #expect(try await !cache.clear("rocky9"))
        }
    }

    @Test func onlyCompleteListedFilesAreServed() async throws {
        try await withMirror { mirror, cache, _ in
            _ = try await cache.prepare(try profile(mirror))
            #expect(cache.servedFile(cacheDirectory: "rocky9", path: "images/pxeboot/vmlinuz") != nil)
            #expect(cache.servedFile(cacheDirectory: "rocky9", path: ".rackagent-cache.json") == nil)
            #expect(cache.servedFile(cacheDirectory: "rocky9", path: "../rocky9/images/pxeboot/vmlinuz") == nil)
            #expect(cache.servedFile(cacheDirectory: "..", path: "etc/passwd") == nil)
            #expect(cache.servedFile(cacheDirectory: "rocky9", path: "images/pxeboot/vmlinuz.part") == nil)
        }
    }

    @Test func checksumListsInBothPublishedFormatsParse() {
        let debian = "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c  ./netboot/debian-installer/amd64/linux\n"
        let fedora = "# images/pxeboot\nSHA256 (vmlinuz) = 7D865E959B2466918C9863AFCA942D0FB89D7C9AC0C99BAFC3749504DED97730\n"
        let gnu = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 *initrd.gz\n"
        let all = ChecksumParsing.parse(debian + fedora + gnu)
        #expect(all["./netboot/debian-installer/amd64/linux"] == "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c")
        #expect(all["vmlinuz"] == "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730")
        #expect(all["initrd.gz"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
