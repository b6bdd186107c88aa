import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteNIO
import ServiceLifecycle

/// The embedded database: one SQLite file in WAL mode.
///
/// SQLite allows one writer at a time. Rather than let writers collide on the file lock and
/// spin on SQLITE_BUSY, the store owns a single write connection that transactions take in
/// turn, and a pool of read connections that see the last committed state (WAL readers never
/// block the writer). Commits are fsynced (`synchronous=FULL`): an answered write survives a
/// crash of the machine, not only of the process.
///
/// Checkpoints (copying the WAL back into the database file) would otherwise fall on the
/// writer inside a commit; while the store runs as a service, a passive checkpoint runs every
/// quarter second on a read connection instead, and the writer only checkpoints itself when the
/// WAL passes 64 MB (CLI commands, which run no services).
public final class SQLiteStore: SQLStore {
    public let dialect = SQLDialectKind.sqlite
    public let logger: Logger
    let path: String
    private let writer: AsyncPool<SQLiteDirectConnection>
    private let readers: AsyncPool<SQLiteDirectConnection>
    /// Runs the calls that wait on the disk (COMMIT's fsync, checkpoints) or on another
    /// process's write lock off the cooperative pool.
    private let threadPool: NIOThreadPool
    private let eventLoop: any EventLoop
    private let watchdog: Task<Void, Never>?

    /// - Parameter statementTimeout: seconds a statement may run before it is interrupted and
    ///   fails with `StorageError.timeout`, 0 for no limit (`--query-timeout`, as on PostgreSQL).
    public static func open(path: String, readers readerCount: Int = 4, statementTimeout: Int = 0, logger: Logger) async throws -> SQLiteStore {
        func connect() throws -> SQLiteDirectConnection {
            let connection = try SQLiteDirectConnection(path: path, statementTimeout: statementTimeout)
            // No memory-mapped reads: a connection that begins reading after another's commit
            // unmaps the whole file, which costs every core a TLB flush at each store.
            for pragma in [
                "PRAGMA foreign_keys = ON", "PRAGMA synchronous = FULL",
                "PRAGMA temp_store = MEMORY", "PRAGMA wal_autocheckpoint = 16384", "PRAGMA journal_size_limit = 67108864", "PRAGMA cache_size = -65536", "PRAGMA mmap_size = 0",
            ] {
                try connection.run(pragma)
            }
            return connection
        }
        let writeConnection = try connect()
        let mode = try writeConnection.rows("PRAGMA journal_mode = WAL")
        guard mode.first?.column("journal_mode")?.string?.lowercased() == "wal" else {
            throw StorageError.invalidConfiguration("SQLite refused WAL mode for \(path)")
        }
        var readConnections: [SQLiteDirectConnection] = []
        for _ in 0..<readerCount {
            readConnections.append(try connect())
        }
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        // The statement timeout's watchdog: a statement past it is interrupted within a
        // quarter of a second.
        let connections = [writeConnection] + readConnections
        let watchdog: Task<Void, Never>? = statementTimeout > 0 ? Task {
            while (try? await Task.sleep(for: .milliseconds(250))) != nil {
                for connection in connections { connection.interruptIfOverdue() }
            }
        } : nil
        return SQLiteStore(path: path, writer: writeConnection, readers: readConnections, threadPool: threadPool, watchdog: watchdog, logger: logger)
    }

    private init(
        path: String, writer: SQLiteDirectConnection, readers: [SQLiteDirectConnection], threadPool: NIOThreadPool, watchdog: Task<Void, Never>?, logger: Logger
    ) {
        self.path = path
        self.writer = AsyncPool([writer])
        self.readers = AsyncPool(readers)
        self.threadPool = threadPool
        self.watchdog = watchdog
        self.eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        self.logger = logger
    }

    private func database(_ connection: SQLiteDirectConnection) -> any SQLDatabase {
        SQLiteDirectDatabase(connection: connection, eventLoop: eventLoop, logger: logger)
    }

    public func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await readers.with { connection in
            try await body(database(connection))
        }
    }

    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await writer.with { connection in
            // Another process (a CLI command) may hold the write lock: the wait for it runs on
            // the thread pool, not on a cooperative thread the holder's own work may need.
            if try !connection.beginIfFree() {
                try await threadPool.runIfActive { try connection.run("BEGIN IMMEDIATE") }
            }
            do {
                let result = try await body(database(connection))
                try await threadPool.runIfActive { try connection.run("COMMIT") }
                return result
            } catch {
                // Also after a failed COMMIT, which leaves the transaction open.
                try? connection.run("ROLLBACK")
                throw error
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .milliseconds(250))
                } catch {
                    return
                }
                try? await self.checkpoint()
            }
        }
        await close()
    }

    /// Copies committed WAL frames into the database file without blocking readers or the writer.
    func checkpoint() async throws {
        try await readers.with { connection in
            try await threadPool.runIfActive { try connection.run("PRAGMA wal_checkpoint(PASSIVE)") }
        }
    }

    public func close() async {
        let connections = await writer.close() + readers.close()
        watchdog?.cancel()
        for connection in connections {
            connection.close()
        }
        try? await threadPool.shutdownGracefully()
    }
}
