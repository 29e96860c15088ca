import Foundation
import GRDB

/// One versioned schema change. Each module publishes its own list; the daemon applies them in a fixed order.
public struct SchemaMigration: Sendable {
    public let identifier: String
    public let migrate: @Sendable (Database) throws -> Void

    public init(_ identifier: String, migrate: @escaping @Sendable (Database) throws -> Void) {
        self.identifier = identifier
        self.migrate = migrate
    }
}

/// The agent's SQLite database (WAL mode, file mode 0600) with its migrations applied.
public struct AgentDatabase: Sendable {
    public let writer: DatabasePool
    public let path: String

    /// Opens (creating if needed) the database at `path` and applies `migrations` in order.
    public init(path: String, migrations: [SchemaMigration]) throws {
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        writer = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        var migrator = DatabaseMigrator()
        for migration in CoreSchema.migrations + migrations {
            migrator.registerMigration(migration.identifier, migrate: migration.migrate)
        }
        try migrator.migrate(writer)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            chmod(path + suffix, 0o600)
        }
    }
}

/// The tables AgentCore owns: jobs, outbox, action log.
enum CoreSchema {
    static let migrations: [SchemaMigration] = [
        SchemaMigration("core.v1") { db in
            try db.create(table: "job") { table in
                table.column("jobId", .text).primaryKey()
                table.column("kind", .text).notNull()
                table.column("target", .text).notNull()
                table.column("state", .text).notNull().indexed()
                table.column("progress", .double).notNull().defaults(to: 0)
                table.column("message", .text)
                table.column("result", .text)
                table.column("error", .text)
                table.column("createdAt", .datetime).notNull().indexed()
                table.column("startedAt", .datetime)
                table.column("finishedAt", .datetime)
                table.column("idempotencyKey", .text).unique()
                table.column("requestFingerprint", .text)
            }
            try db.create(table: "outboxEvent") { table in
                table.autoIncrementedPrimaryKey("sequence")
                table.column("id", .text).notNull().unique()
                table.column("type", .text).notNull()
                table.column("time", .datetime).notNull()
                table.column("data", .text).notNull()
            }
            try db.create(table: "actionLog") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("rootType", .text).notNull()
                table.column("rootId", .text).notNull()
                table.column("description", .text).notNull()
                table.column("loglevel", .text).notNull()
                table.column("meta", .text).notNull()
                table.column("createdAt", .datetime).notNull().indexed()
            }
        },
        ActionLogSchema.migration,
    ]
}

/// Creates and checks the state directory (mode 0700).
public enum StateDirectory {
    public static func prepare(_ path: String) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw StateDirectoryError.notADirectory(path) }
        } else {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StateDirectoryError.cannotCreate(path, String(describing: error))
            }
        }
        guard chmod(path, 0o700) == 0 else { throw StateDirectoryError.cannotCreate(path, "chmod failed: \(String(cString: strerror(errno)))") }
    }

    /// The permission bits of a file, or nil when it does not exist.
    public static func permissions(of path: String) -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return (attributes[.posixPermissions] as? NSNumber)?.intValue
    }
}

public enum StateDirectoryError: Error, CustomStringConvertible {
    case notADirectory(String)
    case cannotCreate(String, String)

    public var description: String {
        switch self {
        case .notADirectory(let path): return "state directory \(path) exists but is not a directory"
        case .cannotCreate(let path, let reason): return "cannot create state directory \(path): \(reason)"
        }
    }
}
