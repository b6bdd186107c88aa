import Foundation
import Logging
import PostgresNIO
import SQLKit
@testable import Storage
import Testing

/// Opens each engine the test run has: SQLite always, PostgreSQL when
/// HYGIE_TEST_DATABASE_URL names one (in a fresh schema).
func withStores(_ body: (any SQLStore) async throws -> Void) async throws {
    let directory = NSTemporaryDirectory() + "hygie-storage-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let sqlite = try await SQLiteStore.open(path: directory + "/test.sqlite", readers: 2, logger: Logger(label: "test"))
    do { try await body(sqlite) } catch {
        await sqlite.close()
        throw error
    }
    await sqlite.close()
    try? FileManager.default.removeItem(atPath: directory)
    guard let url = ProcessInfo.processInfo.environment["HYGIE_TEST_DATABASE_URL"], !url.isEmpty else { return }
    let schema = "s" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    let admin = PostgresStore(url: try PostgresURL(url), maximumConnections: 1, logger: Logger(label: "test"))
    try await admin.transaction { try await $0.raw("CREATE SCHEMA \(unsafeRaw: String(schema))").run() }
    let postgres = PostgresStore(url: try PostgresURL(url), schema: String(schema), maximumConnections: 2, logger: Logger(label: "test"))
    do { try await body(postgres) } catch {
        await postgres.close()
        await admin.close()
        throw error
    }
    await postgres.close()
    try await admin.transaction { try await $0.raw("DROP SCHEMA \(unsafeRaw: String(schema)) CASCADE").run() }
    await admin.close()
}

@Suite struct MigratorTests {
    static let migrations = [
        Migration(id: 1, name: "notes", up: { ddl in ["CREATE TABLE notes (id \(ddl.autoIncrementKey), body \(ddl.blob))"] }, down: { _ in ["DROP TABLE notes"] }),
        Migration(id: 2, name: "tags", up: { _ in ["CREATE TABLE tags (name TEXT PRIMARY KEY)"] }, down: { _ in ["DROP TABLE tags"] }),
    ]

    @Test func migrationsApplyOnceAndRevertInReverse() async throws {
        try await withStores { store in
            let migrator = try Migrator(store: store, migrations: Self.migrations)
            #expect(try await migrator.migrate().map(\.id) == [1, 2])
            #expect(try await migrator.migrate().isEmpty)
            #expect(try await migrator.appliedIDs() == [1, 2])
            try await store.transaction { try await $0.raw("INSERT INTO tags (name) VALUES ('a')").run() }
            #expect(try await migrator.revert(downTo: 1).map(\.id) == [2])
            #expect(try await migrator.appliedIDs() == [1])
            await #expect(throws: (any Error).self) {
                try await store.transaction { try await $0.raw("INSERT INTO tags (name) VALUES ('b')").run() }
            }
            #expect(try await migrator.migrate().map(\.id) == [2])
        }
    }

    @Test func migrationIdsMustIncrease() {
        #expect(throws: StorageError.self) { try Migrator(store: DummyStore(), migrations: Self.migrations.reversed()) }
    }

    @Test func aFailedTransactionLeavesNothing() async throws {
        try await withStores { store in
            try await Migrator(store: store, migrations: Self.migrations).migrate()
            await #expect(throws: (any Error).self) {
                try await store.transaction { database in
                    try await database.raw("INSERT INTO tags (name) VALUES ('x')").run()
                    try await database.raw("INSERT INTO tags (name) VALUES ('x')").run()
                }
            }
            let count = try await store.read { try await $0.raw("SELECT COUNT(*) AS n FROM tags").first()!.decode(column: "n", as: Int.self) }
            #expect(count == 0)
        }
    }

    @Test func uniqueViolationsAreClassifiedByCode() async throws {
        try await withStores { store in
            try await Migrator(store: store, migrations: Self.migrations).migrate()
            try await store.transaction { try await $0.raw("INSERT INTO tags (name) VALUES ('dup')").run() }
            do {
                try await store.transaction { try await $0.raw("INSERT INTO tags (name) VALUES ('dup')").run() }
                Issue.record("the duplicate should fail")
            } catch {
                #expect(StorageError.classify(error) == .uniqueViolation)
            }
        }
    }

    @Test func sqliteRunsInWALWithFullSync() async throws {
        let path = NSTemporaryDirectory() + "hygie-wal-" + UUID().uuidString + ".sqlite"
        let store = try await SQLiteStore.open(path: path, readers: 1, logger: Logger(label: "test"))
        let mode = try await store.read { try await $0.raw("PRAGMA journal_mode").first()!.decode(column: "journal_mode", as: String.self) }
        let sync = try await store.read { try await $0.raw("PRAGMA synchronous").first()!.decode(column: "synchronous", as: Int.self) }
        await store.close()
        #expect(mode == "wal")
        #expect(sync == 2)
    }

    @Test func postgresURLsAreParsed() throws {
        let url = try PostgresURL("postgres://hygie:s%40cret@db.local:6432/clinique?sslmode=require")
        #expect(url.host == "db.local" && url.port == 6432 && url.username == "hygie" && url.password == "s@cret")
        #expect(url.database == "clinique" && url.requireTLS)
        #expect(throws: StorageError.self) { try PostgresURL("mysql://x") }
    }

    /// Keep-alive queries on idle pooled connections sometimes left the client unable to close
    /// (the store's shutdown, and with it a server's or a test's, waited forever).
    @Test func pooledPostgreSQLConnectionsRunNoKeepAliveTimers() throws {
        let configuration = try PostgresURL("postgres://hygie@db.local/clinique").clientConfiguration(schema: nil, maximumConnections: 4, statementTimeout: 30)
        #expect(configuration.options.keepAliveBehavior == nil)
        #expect(configuration.options.maximumConnections == 4)
    }
}

/// A store that is never used; for checks made before any query.
final class DummyStore: SQLStore {
    let dialect = SQLDialectKind.sqlite
    let logger = Logger(label: "dummy")
    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T { throw StorageError.unavailable("dummy") }
    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T { throw StorageError.unavailable("dummy") }
    func close() async {}
    func run() async throws {}
}

@Suite struct PostgresTimeoutTests {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["HYGIE_TEST_DATABASE_URL"].map { !$0.isEmpty } ?? false))
    func aStatementPastTheTimeoutIsCancelledAndClassified() async throws {
        let url = try PostgresURL(ProcessInfo.processInfo.environment["HYGIE_TEST_DATABASE_URL"]!)
        let store = PostgresStore(url: url, maximumConnections: 1, statementTimeout: 1, logger: Logger(label: "test"))
        do {
            try await store.read { try await $0.raw("SELECT pg_sleep(3)").run() }
            Issue.record("the statement should have been cancelled")
        } catch {
            #expect(StorageError.classify(error) == .timeout)
        }
        await store.close()
    }
}
