import AgentCore
import Foundation
import GRDB
import Synchronization

/// One ISO image the controller registered (the seed's ISO list: `name`, `downloadUrl`), and where the agent stands
/// with it. A `ready` image is served from the boot listener, for a BMC to mount as virtual media.
public struct ISOImage: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Registered; the download has not finished.
        case pending
        /// Cached: `sha256` and `bytes` are known, `verified` when the mirror published a matching checksum.
        case ready
        /// The download failed; `error` says why.
        case failed
    }

    public var id: String
    public var name: String
    public var downloadUrl: String
    public var state: State
    /// The OS cache directory holding it (`iso-<id>`) and the file's name there.
    public var cacheDirectory: String
    public var file: String
    public var bytes: Int64?
    public var sha256: String?
    public var verified: Bool
    public var error: String?
    public var updatedAt: Date

    /// Where BMCs fetch it: the boot listener's `/boot/files/...` path under `bootBaseURL`.
    public func servedURL(bootBaseURL: String) -> String { "\(bootBaseURL)/boot/files/\(cacheDirectory)/\(file)" }
}

/// A registration as the controller sends it, validated.
public struct ISORegistration: Sendable, Equatable {
    public var id: String
    public var name: String
    public var downloadUrl: String
    /// The last path segment of the URL: the name the image is cached and served under.
    public var file: String

    /// `id` comes from the path (the seed's numeric ids, or any 1-64 letters, digits, `-`, `_`); `name` and
    /// `downloadUrl` from the body.
    public init(id: String, body: JSONValue) throws {
        guard Self.isIdentifier(id) else { throw AgentError.invalidField("id", "1 to 64 letters, digits, - or _") }
        guard case .object = body else { throw AgentError.malformedJSON("expected an object with name and downloadUrl") }
        guard let name = body["name"]?.stringValue, !name.isEmpty else { throw AgentError.missingField("name") }
        guard name.count <= 255, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw AgentError.invalidField("name", "at most 255 characters, no control characters")
        }
        guard let url = body["downloadUrl"]?.stringValue, !url.isEmpty else { throw AgentError.missingField("downloadUrl") }
        guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""), components.host?.isEmpty == false,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
            !url.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
        else { throw AgentError.invalidField("downloadUrl", "an http(s) URL with a host, no credentials and no query") }
        let last = (components.path as NSString).lastPathComponent
        guard url.hasSuffix("/" + last), (1...128).contains(last.count), !last.hasPrefix("."),
            last.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-+".contains($0)) })
        else { throw AgentError.invalidField("downloadUrl", "must end in the image's file name (letters, digits, . _ - +)") }
        self.id = id
        self.name = name
        downloadUrl = url
        file = last
    }

    var cacheDirectory: String { "iso-\(id)" }

    /// An image id: the seed's numeric ids, or any 1-64 letters, digits, `-`, `_`.
    public static func isIdentifier(_ id: String) -> Bool {
        (1...64).contains(id.count) && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }

    /// The URL's directory: the "mirror" the OS cache fetches `file` from (and looks for SHA256SUMS in).
    var mirror: String { String(downloadUrl.dropLast(file.count)) }
}

/// ISO images registered by the controller, cached through the OS cache (resumed downloads, checksums published
/// beside the image) and served from the boot listener.
public struct ISORegistry: Sendable {
    let database: AgentDatabase
    let cache: OSCache
    /// Images whose download runs now (in this process: a pending image left by a restart is not fetching).
    private let fetching = FetchingSet()

    public init(database: AgentDatabase, cache: OSCache) {
        self.database = database
        self.cache = cache
    }

    public static let migrations: [SchemaMigration] = [
        SchemaMigration("provisioning.isos.v1") { db in
            try db.create(table: "isoImage") { table in
                table.column("id", .text).primaryKey()
                table.column("document", .text).notNull()
            }
        },
    ]

    /// Records the registration as pending, replacing an earlier one with the same id; ``fetch(_:)`` then caches it.
    /// Only the database is touched: a registration never waits for a download.
    @discardableResult
    public func register(_ registration: ISORegistration) async throws -> ISOImage {
        let image = ISOImage(
            id: registration.id, name: registration.name, downloadUrl: registration.downloadUrl, state: .pending, cacheDirectory: registration.cacheDirectory,
            file: registration.file, bytes: nil, sha256: nil, verified: false, error: nil, updatedAt: Date())
        try await save(image)
        return image
    }

    /// Downloads (or revalidates) the registered image and records the outcome; a failed download is recorded and
    /// thrown. A cached copy from another URL is removed first. An image deleted or registered again with another URL
    /// since this registration is left alone (409).
    public func fetch(_ registration: ISORegistration) async throws -> ISOImage {
        fetching.insert(registration.id)
        defer { fetching.remove(registration.id) }
        guard var image = try await self.image(registration.id), image.downloadUrl == registration.downloadUrl else {
            throw AgentError.conflict("iso_replaced", "ISO \(registration.id) was deleted or registered again before this download began")
        }
        if let cached = cache.cachedFile(cacheDirectory: registration.cacheDirectory, path: registration.file), cached.url == registration.downloadUrl {
            // The same image: the OS cache reuses it.
        } else {
            _ = try await cache.clear(registration.cacheDirectory)
        }
        do {
            _ = try await cache.prepare(
                cacheDirectory: registration.cacheDirectory, policy: .keepAsLongAsPossible, mirror: registration.mirror, files: [registration.file])
            guard let cached = cache.cachedFile(cacheDirectory: registration.cacheDirectory, path: registration.file) else {
                throw AgentError.internalError("the OS cache did not record \(registration.file)")
            }
            image.state = .ready
            image.bytes = cached.size
            image.sha256 = cached.sha256
            image.verified = cached.verified
            image.error = nil
        } catch let error where !(error is CancellationError) {
            image.state = .failed
            image.error = AgentError.from(error).message
            image.updatedAt = Date()
            try await saveIfCurrent(image)
            throw error
        }
        image.updatedAt = Date()
        try await saveIfCurrent(image)
        return image
    }

    /// The image once it is cached. Waits (polling every `interval`, until the caller is cancelled) while its download
    /// runs; an image not registered, failed, or pending with no download running is an error naming what to do.
    public func waitUntilReady(_ id: String, interval: Duration = .seconds(1)) async throws -> ISOImage {
        while true {
            guard let image = try await image(id) else { throw AgentError.notFound("ISO", id) }
            switch image.state {
            case .ready:
                return image
            case .failed:
                throw AgentError.conflict("iso_not_ready", "ISO \(id) failed to download: \(image.error ?? "no reason recorded") (PUT /v1/isos/\(id) tries again)")
            // A registration's download job starts moments after the registration is recorded: a fresh pending image
            // is waited for, a stale one (left by a restart) is not.
            case .pending where !fetching.contains(id) && Date().timeIntervalSince(image.updatedAt) > 30:
                throw AgentError.conflict("iso_not_ready", "ISO \(id) is not cached and no download runs (PUT /v1/isos/\(id) caches it)")
            case .pending:
                try await Task.sleep(for: interval)
            }
        }
    }

    public func image(_ id: String) async throws -> ISOImage? {
        try await database.writer.read { db in
            try String.fetchOne(db, sql: "SELECT document FROM isoImage WHERE id = ?", arguments: [id]).map {
                try JSONCoding.decoder.decode(ISOImage.self, from: Data($0.utf8))
            }
        }
    }

    public func all() async throws -> [ISOImage] {
        try await database.writer.read { db in
            try String.fetchAll(db, sql: "SELECT document FROM isoImage ORDER BY id").map { try JSONCoding.decoder.decode(ISOImage.self, from: Data($0.utf8)) }
        }
    }

    /// Forgets the image and removes its cached copy; false when it was not registered. An image being downloaded is a
    /// 409: the download holds its cache directory, and a delete must not wait minutes for it.
    public func remove(_ id: String) async throws -> Bool {
        guard let image = try await image(id) else { return false }
        guard !fetching.contains(id) else {
            throw AgentError.conflict("iso_fetching", "ISO \(id) is being downloaded; delete it when its job has ended", details: ["id": .string(id)])
        }
        _ = try await cache.clear(image.cacheDirectory)
        return try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM isoImage WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Records the outcome of a download unless the image was deleted or registered again with another URL meanwhile.
    private func saveIfCurrent(_ image: ISOImage) async throws {
        let document = String(decoding: try JSONCoding.encoder.encode(image), as: UTF8.self)
        try await database.writer.write { db in
            try db.execute(
                sql: "UPDATE isoImage SET document = ? WHERE id = ? AND json_extract(document, '$.downloadUrl') = ?",
                arguments: [document, image.id, image.downloadUrl])
        }
    }

    private func save(_ image: ISOImage) async throws {
        let document = String(decoding: try JSONCoding.encoder.encode(image), as: UTF8.self)
        try await database.writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO isoImage (id, document) VALUES (?, ?)", arguments: [image.id, document])
        }
    }
}

/// Ids of the downloads running now, counted: two jobs may fetch one id (the second waits for the first's cache lock).
final class FetchingSet: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func insert(_ id: String) { counts.withLock { $0[id, default: 0] += 1 } }

    func remove(_ id: String) {
        counts.withLock { counts in
            let left = (counts[id] ?? 1) - 1
            counts[id] = left > 0 ? left : nil
        }
    }

    func contains(_ id: String) -> Bool { counts.withLock { $0[id] != nil } }
}
