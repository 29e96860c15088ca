import AgentCore
import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import Synchronization
import NIOHTTP1

/// Errors of the OS file cache; every one names the URL or directory.
public enum OSCacheError: Error, Sendable, Equatable, AgentErrorConvertible, CustomStringConvertible {
    case downloadFailed(url: String, reason: String)
    case checksumMismatch(url: String, expected: String, actual: String)
    case unknownDirectory(String)
    case busy(String)

    public var description: String { agentError.message }

    public var agentError: AgentError {
        switch self {
        case .downloadFailed(let url, let reason):
            return AgentError(status: .badGateway, code: "os_cache_download_failed", message: "downloading \(url) failed: \(reason)", details: ["url": .string(url)])
        case .checksumMismatch(let url, let expected, let actual):
            return AgentError(
                status: .badGateway, code: "os_cache_checksum_mismatch", message: "\(url): SHA-256 \(actual) does not match the mirror's published \(expected)",
                details: ["url": .string(url), "expected": .string(expected), "actual": .string(actual)])
        case .unknownDirectory(let name):
            return .notFound("os cache directory", name)
        case .busy(let name):
            return .conflict("os_cache_in_use", "\(name) is used by a running installation", details: ["cacheDirectory": .string(name)])
        }
    }
}

/// The seed's pxe_file_caching_policy.
public enum CachingPolicy: String, Sendable, Codable {
    /// Revalidate every file (ETag / Last-Modified) before each installation.
    case smartCaching
    /// Use what is cached; only DELETE /v1/os-cache/{dir} removes it.
    case keepAsLongAsPossible
    /// Use what is cached; the directory is removed once it is a day old and no installation uses it.
    case dailyCleanup

    /// Unknown policies (the seed keeps enum values open) behave like smartCaching: always correct.
    public init(seedValue: String) {
        self = CachingPolicy(rawValue: seedValue) ?? .smartCaching
    }
}

/// One cached file and how it was obtained.
public struct CachedFile: Sendable, Codable, Equatable {
    public var path: String
    public var url: String
    public var size: Int64
    public var sha256: String
    public var etag: String?
    public var lastModified: String?
    /// Whether the mirror published a checksum the file was checked against.
    public var verified: Bool
    public var fetchedAt: Date
    public var validatedAt: Date
}

/// What a cache directory holds (`<osCacheDirectory>/<cacheDirectory>/.rackagent-cache.json`).
struct CacheIndex: Sendable, Codable {
    var policy: CachingPolicy
    var files: [String: CachedFile] = [:]
    var lastUsedAt: Date
}

/// What preparing a profile's files did.
public struct CachePreparation: Sendable, Equatable {
    public var downloaded: [String] = []
    public var revalidated: [String] = []
    public var reused: [String] = []
}

/// How far one download has come, for a progress display.
public struct DownloadProgress: Sendable, Equatable {
    /// The file's path in the profile's cache directory.
    public let file: String
    /// Bytes in the file so far, a resumed download's earlier part included.
    public let receivedBytes: Int64
    /// The whole file's size, when the mirror sent a Content-Length.
    public let totalBytes: Int64?
    /// The last report of this download (complete, not yet verified).
    public let finished: Bool
}

/// Kernels, initrds and whatever else a profile boots, fetched from its mirror into `cacheDirectory` and served
/// to booting servers from there. Downloads go to `.part` files, resume with Range requests, and are checked
/// against the mirror's SHA256SUMS / CHECKSUM files when it publishes them.
public final class OSCache: Sendable {
    public let directory: String
    let client: HTTPClient
    let timeout: TimeAmount
    let attempts: Int
    let logger: Logger
    let progress: @Sendable (DownloadProgress) -> Void
    private let locks = KeyedLocks()
    static let indexName = ".rackagent-cache.json"

    /// `progress` hears every block of every download (the CLI draws it; the daemon passes nothing).
    public init(
        directory: String, timeoutSeconds: Double, attempts: Int = 3, logger: Logger,
        progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }
    ) {
        self.directory = directory
        timeout = .milliseconds(Int64(timeoutSeconds * 1000))
        self.attempts = max(1, attempts)
        self.logger = logger
        self.progress = progress
        client = Self.downloadClient
    }

    /// One client for the process, like `HTTPClient.shared` but without response decompression: a mirror that labels
    /// initrd.gz as gzip-encoded must not get it unpacked.
    static let downloadClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 10, allowCycles: false), timeout: .init(connect: .seconds(15), read: .seconds(60)))
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && !name.hasPrefix(".") && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// Fetches or revalidates the profile's `cacheFiles` under its policy. Fails on the first file that cannot be
    /// obtained, naming its URL.
    public func prepare(_ profile: PXEProfile, now: Date = Date()) async throws -> CachePreparation {
        guard let mirror = profile.mirrorUrl, !profile.cacheFiles.isEmpty else { return CachePreparation() }
        return try await prepare(
            cacheDirectory: profile.cacheDirectory, policy: CachingPolicy(seedValue: profile.cachingPolicy), mirror: mirror, files: profile.cacheFiles, now: now)
    }

    /// Fetches or revalidates `files` (paths under `mirror`) into the cache directory `name` under `policy`: what
    /// ``prepare(_:now:)`` does for a profile, and the ISO registry for one image.
    public func prepare(cacheDirectory name: String, policy: CachingPolicy, mirror: String, files: [String], now: Date = Date()) async throws
        -> CachePreparation
    {
        guard Self.isValidName(name) else { throw AgentError.invalidField("cacheDirectory", "letters, digits, . _ - (no leading dot)") }
        return try await locks.withLock(name) {
            let root = "\(directory)/\(name)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            var index = readIndex(name) ?? CacheIndex(policy: policy, lastUsedAt: now)
            index.policy = policy
            var result = CachePreparation()
            var sums = ChecksumLookup(client: client, timeout: timeout)
            let base = mirror.hasSuffix("/") ? mirror : mirror + "/"
            for file in files {
                let url = base + file
                let target = "\(root)/\(file)"
                let existing = index.files[file].flatMap { FileManager.default.fileExists(atPath: target) ? $0 : nil }
                if let existing, existing.url == url, policy != .smartCaching {
                    result.reused.append(file)
                    continue
                }
                let conditional = existing?.url == url ? existing : nil
                let outcome = try await fetch(url: url, to: target, relativePath: file, mirrorBase: base, conditional: conditional, sums: &sums, now: now)
                switch outcome {
                case .notModified:
                    index.files[file]?.validatedAt = now
                    result.revalidated.append(file)
                case .downloaded(let record):
                    index.files[file] = record
                    result.downloaded.append(file)
                }
                try writeIndex(index, name)
            }
            index.lastUsedAt = now
            try writeIndex(index, name)
            return result
        }
    }

    enum FetchOutcome {
        case notModified
        case downloaded(CachedFile)
    }

    /// One file: conditional when `conditional` is given, resumed when a `.part` is there, retried `attempts` times.
    func fetch(
        url: String, to target: String, relativePath: String, mirrorBase: String, conditional: CachedFile?, sums: inout ChecksumLookup, now: Date
    ) async throws -> FetchOutcome {
        let partial = target + ".part"
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var lastError = "no attempt made"
        for attempt in 1...attempts {
            do {
                switch try await download(url: url, partial: partial, conditional: conditional, file: relativePath) {
                case .notModified:
                    return .notModified
                case .complete(let etag, let lastModified):
                    // An ISO is gigabytes: hashed on the blocking pool, never on a cooperative thread.
                    let (size, digest) = try await BlockingWork.runBulk { try Self.sha256(ofFile: partial) }
                    var verified = false
                    if let expected = try await sums.expected(for: relativePath, mirrorBase: mirrorBase) {
                        guard expected == digest else {
                            do {
                                try FileManager.default.removeItem(atPath: partial)
                            } catch {
                                logger.error("cannot remove a download that failed its checksum", metadata: ["file": "\(partial)", "error": "\(error)"])
                            }
                            throw OSCacheError.checksumMismatch(url: url, expected: expected, actual: digest)
                        }
                        verified = true
                    }
                    guard rename(partial, target) == 0 else { throw OSCacheError.downloadFailed(url: url, reason: "cannot move the download into place: errno \(errno)") }
                    logger.info("cached", metadata: ["url": "\(url)", "bytes": "\(size)", "verified": "\(verified)"])
                    return .downloaded(CachedFile(
                        path: relativePath, url: url, size: size, sha256: digest, etag: etag, lastModified: lastModified, verified: verified,
                        fetchedAt: now, validatedAt: now))
                }
            } catch let failure as TransferFailure {
                guard failure.retryable, attempt < attempts else { throw OSCacheError.downloadFailed(url: url, reason: failure.reason) }
                lastError = failure.reason
                logger.warning("download interrupted, resuming", metadata: ["url": "\(url)", "attempt": "\(attempt)", "reason": "\(failure.reason)"])
                try await Task.sleep(for: .milliseconds(500 * attempt))
            } catch let error as OSCacheError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = "\(error)"
                if attempt < attempts {
                    logger.warning("download interrupted, resuming", metadata: ["url": "\(url)", "attempt": "\(attempt)", "reason": "\(error)"])
                    try await Task.sleep(for: .milliseconds(500 * attempt))
                }
            }
        }
        throw OSCacheError.downloadFailed(url: url, reason: lastError)
    }

    /// Why one exchange failed; a 4xx is final, a lost connection or a 5xx worth another (resumed) attempt.
    struct TransferFailure: Error {
        let reason: String
        let retryable: Bool
    }

    enum DownloadResult {
        case notModified
        case complete(etag: String?, lastModified: String?)
    }

    /// One HTTP exchange into `partial`: resumes from its size with Range + If-Range when it exists.
    func download(url: String, partial: String, conditional: CachedFile?, file: String) async throws -> DownloadResult {
        let offset = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? Int64) ?? 0
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "rackagent/\(AgentVersion.current)")
        let resumeValidator = Self.readValidator(partial)
        if offset > 0, let resumeValidator {
            request.headers.add(name: "Range", value: "bytes=\(offset)-")
            request.headers.add(name: "If-Range", value: resumeValidator)
        } else if let conditional {
            if let etag = conditional.etag { request.headers.add(name: "If-None-Match", value: etag) }
            if let lastModified = conditional.lastModified { request.headers.add(name: "If-Modified-Since", value: lastModified) }
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw TransferFailure(reason: "\(error)", retryable: true)
        }
        let etag = response.headers.first(name: "ETag")
        let lastModified = response.headers.first(name: "Last-Modified")
        let append: Bool
        switch response.status {
        case .notModified where conditional != nil && offset == 0:
            return .notModified
        case .ok:
            append = false
        case .partialContent where offset > 0:
            guard let range = response.headers.first(name: "Content-Range"), range.hasPrefix("bytes \(offset)-") else {
                throw TransferFailure(reason: "the mirror answered a resume with an unexpected Content-Range", retryable: true)
            }
            append = true
        case .rangeNotSatisfiable:
            try? FileManager.default.removeItem(atPath: partial)
            throw TransferFailure(reason: "the partial download no longer matches; starting over", retryable: true)
        default:
            throw TransferFailure(reason: "HTTP \(response.status.code) \(response.status.reasonPhrase)", retryable: response.status.code >= 500)
        }
        Self.writeValidator(partial, etag ?? lastModified)
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
        guard descriptor >= 0 else {
            throw TransferFailure(reason: "cannot write \(partial): \(String(cString: strerror(errno)))", retryable: false)
        }
        defer { close(descriptor) }
        let resumedAt = append ? offset : 0
        let expected = response.headers.first(name: "Content-Length").flatMap(Int64.init).map { $0 + resumedAt }
        progress(DownloadProgress(file: file, receivedBytes: resumedAt, totalBytes: expected, finished: false))
        // The body is gathered into blocks of a megabyte and each block written on the blocking pool.
        var received: Int64 = 0
        var block: [UInt8] = []
        block.reserveCapacity(Self.writeBlockBytes)
        do {
            for try await buffer in response.body {
                block.append(contentsOf: buffer.readableBytesView)
                received += Int64(buffer.readableBytes)
                progress(DownloadProgress(file: file, receivedBytes: resumedAt + received, totalBytes: expected, finished: false))
                if block.count >= Self.writeBlockBytes {
                    try await Self.write(block, to: descriptor, partial: partial)
                    block.removeAll(keepingCapacity: true)
                }
            }
            try await Self.write(block, to: descriptor, partial: partial)
        } catch let failure as TransferFailure {
            throw failure
        } catch {
            // What arrived is good: keep it, so the next attempt resumes after it.
            try await Self.write(block, to: descriptor, partial: partial)
            throw TransferFailure(reason: "connection lost after \(received) bytes: \(error)", retryable: true)
        }
        if let length = response.headers.first(name: "Content-Length").flatMap(Int64.init), length != received {
            throw TransferFailure(reason: "got \(received) of \(length) bytes", retryable: true)
        }
        Self.writeValidator(partial, nil)
        progress(DownloadProgress(file: file, receivedBytes: resumedAt + received, totalBytes: expected, finished: true))
        return .complete(etag: etag, lastModified: lastModified)
    }

    static let writeBlockBytes = 1 << 20

    /// Writes one block of a download through the bulk blocking pool.
    static func write(_ block: [UInt8], to descriptor: Int32, partial: String) async throws {
        guard !block.isEmpty else { return }
        try await BlockingWork.runBulk {
            var offset = 0
            while offset < block.count {
                let written = block.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, block.count - offset) }
                guard written > 0 else {
                    throw TransferFailure(reason: "cannot write \(partial): \(String(cString: strerror(errno)))", retryable: false)
                }
                offset += written
            }
        }
    }

    /// The ETag or Last-Modified a `.part` file was started with (kept next to it), for If-Range.
    static func readValidator(_ partial: String) -> String? {
        (try? String(contentsOfFile: partial + ".validator", encoding: .utf8)).flatMap { $0.isEmpty ? nil : $0 }
    }

    static func writeValidator(_ partial: String, _ value: String?) {
        if let value {
            try? AtomicFile.write(Data(value.utf8), to: partial + ".validator", mode: 0o644)
        } else {
            try? FileManager.default.removeItem(atPath: partial + ".validator")
        }
    }

    static func sha256(ofFile path: String) throws -> (Int64, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw OSCacheError.downloadFailed(url: path, reason: "cannot read the download") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }

    // MARK: - Listing, clearing, serving

    func readIndex(_ name: String) -> CacheIndex? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)/\(Self.indexName)") else { return nil }
        return try? JSONCoding.decoder.decode(CacheIndex.self, from: data)
    }

    func writeIndex(_ index: CacheIndex, _ name: String) throws {
        try AtomicFile.write(try JSONCoding.encoder.encode(index), to: "\(directory)/\(name)/\(Self.indexName)", mode: 0o644)
    }

    /// Every cache directory with its size and age (GET /v1/os-cache).
    public func list(now: Date = Date()) -> [JSONValue] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter(Self.isValidName).sorted()
        return names.compactMap { name in
            guard let index = readIndex(name) else { return nil }
            let files = index.files.values.sorted { $0.path < $1.path }
            let oldest = files.map(\.fetchedAt).min()
            return [
                "cacheDirectory": .string(name), "policy": .string(index.policy.rawValue),
                "files": .integer(Int64(files.count)), "bytes": .integer(files.reduce(0) { $0 + $1.size }),
                "fetchedAt": oldest.map { .string(UTCTime.iso8601($0)) } ?? .null,
                "ageSeconds": oldest.map { .integer(Int64(now.timeIntervalSince($0))) } ?? .null,
                "lastUsedAt": .string(UTCTime.iso8601(index.lastUsedAt)),
                "details": .array(files.map { file in
                    [
                        "path": .string(file.path), "bytes": .integer(file.size), "sha256": .string(file.sha256), "verified": .bool(file.verified),
                        "url": .string(file.url), "fetchedAt": .string(UTCTime.iso8601(file.fetchedAt)),
                        "validatedAt": .string(UTCTime.iso8601(file.validatedAt)),
                    ]
                }),
            ]
        }
    }

    /// Removes one directory (the seed's clearcache); false when it did not exist.
    public func clear(_ name: String) async throws -> Bool {
        guard Self.isValidName(name) else { throw AgentError.invalidField("cacheDirectory", "letters, digits, . _ - (no leading dot)") }
        return try await locks.withLock(name) {
            let path = "\(directory)/\(name)"
            guard FileManager.default.fileExists(atPath: path) else { return false }
            try FileManager.default.removeItem(atPath: path)
            logger.info("cache directory cleared", metadata: ["cacheDirectory": "\(name)"])
            return true
        }
    }

    /// dailyCleanup directories fetched more than a day ago and not in `inUse`.
    @discardableResult
    public func dailyCleanup(inUse: Set<String>, now: Date = Date()) async -> [String] {
        var removed: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []) where Self.isValidName(name) && !inUse.contains(name) {
            guard let index = readIndex(name), index.policy == .dailyCleanup,
                let oldest = index.files.values.map(\.fetchedAt).min(), now.timeIntervalSince(oldest) >= 86_400
            else { continue }
            do {
                if try await clear(name) { removed.append(name) }
            } catch {
                logger.error("daily cache cleanup could not remove a directory", metadata: ["cacheDirectory": "\(name)", "error": "\(error)"])
            }
        }
        return removed
    }

    /// What the cache knows about one file it holds (size, SHA-256, whether a published checksum verified it).
    public func cachedFile(cacheDirectory name: String, path: String) -> CachedFile? {
        guard Self.isValidName(name) else { return nil }
        return readIndex(name)?.files[path]
    }

    /// The file to serve for `/boot/files/<name>/<path>`: only complete files the index lists.
    public func servedFile(cacheDirectory name: String, path: String) -> String? {
        guard Self.isValidName(name), !path.isEmpty, !path.contains(".."), !path.hasPrefix("/"), let index = readIndex(name), index.files[path] != nil else {
            return nil
        }
        let full = "\(directory)/\(name)/\(path)"
        return FileManager.default.fileExists(atPath: full) ? full : nil
    }
}

/// The SHA-256 sums a mirror publishes next to its files: `SHA256SUMS` (`<hex>  <path>`, in the file's directory or
/// any directory above it up to the mirror root) and Fedora-style `CHECKSUM` (`SHA256 (<name>) = <hex>`).
struct ChecksumLookup {
    let client: HTTPClient
    let timeout: TimeAmount
    private var fetched: [String: [String: String]] = [:]

    init(client: HTTPClient, timeout: TimeAmount) {
        self.client = client
        self.timeout = timeout
    }

    mutating func expected(for relativePath: String, mirrorBase: String) async throws -> String? {
        var components = relativePath.split(separator: "/").map(String.init)
        let fileName = components.removeLast()
        var below = [fileName]
        while true {
            let directory = components.isEmpty ? "" : components.joined(separator: "/") + "/"
            let relative = below.joined(separator: "/")
            for list in ["SHA256SUMS", "CHECKSUM"] where list == "SHA256SUMS" || below.count == 1 {
                let sums = await sumsFile(mirrorBase + directory + list)
                if let hex = sums[relative] ?? sums["./" + relative] { return hex }
            }
            guard let last = components.popLast() else { return nil }
            below.insert(last, at: 0)
        }
    }

    mutating func sumsFile(_ url: String) async -> [String: String] {
        if let cached = fetched[url] { return cached }
        var sums: [String: String] = [:]
        if let response = try? await client.execute(HTTPClientRequest(url: url), timeout: timeout), response.status == .ok,
            let body = try? await response.body.collect(upTo: 4 << 20)
        {
            sums = ChecksumParsing.parse(String(buffer: body))
        }
        fetched[url] = sums
        return sums
    }
}

/// Reads checksum lists: `<hex>  <path>`, `<hex> *<path>` (GNU) and `SHA256 (<path>) = <hex>` (BSD / Fedora CHECKSUM).
public enum ChecksumParsing {
    public static func parse(_ text: String) -> [String: String] {
        var sums: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("SHA256 ("), let close = trimmed.range(of: ") = ") {
                let name = String(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 8)..<close.lowerBound])
                sums[name] = String(trimmed[close.upperBound...]).lowercased()
                continue
            }
            let parts = trimmed.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].count == 64, parts[0].allSatisfy(\.isHexDigit) else { continue }
            var name = parts[1].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("*") { name.removeFirst() }
            sums[name] = parts[0].lowercased()
        }
        return sums
    }
}
