import Foundation
import Logging
import SQLKit
import SQLiteNIO
@testable import Storage
import Synchronization
import Testing

@Suite struct SQLiteStoreTests {
    /// A background task (a scheduled ImagingStudy rewrite) may still hold a connection when
    /// the server stops: closing waits for it instead of dropping the connection open.
    @Test func closingWaitsForConnectionsInUseAndRefusesNewWork() async throws {
        let directory = NSTemporaryDirectory() + "hygie-storage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(path: directory + "/test.sqlite", readers: 2, logger: Logger(label: "test"))
        let finished = Atomic(false)
        let started = AsyncStream<Void>.makeStream()
        let reading = Task {
            try await store.transaction { database in
                started.continuation.yield()
                try await Task.sleep(for: .milliseconds(300))
                try await database.raw("CREATE TABLE t (x INTEGER)").run()
                finished.store(true, ordering: .sequentiallyConsistent)
            }
        }
        for await _ in started.stream { break }
        await store.close()
        let finishedBeforeClose = finished.load(ordering: .sequentiallyConsistent)
        #expect(finishedBeforeClose)
        try await reading.value
        await #expect(throws: StorageError.self) {
            try await store.read { try await $0.raw("SELECT 1").run() }
        }
        await store.close()
    }

    private static func withStore(_ body: (SQLiteStore) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "hygie-storage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(path: directory + "/test.sqlite", readers: 2, logger: Logger(label: "test"))
        do {
            try await body(store)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// Pages are read into SQLite's cache, not mapped: with a mapping, every connection that
    /// starts reading after another committed unmaps the whole file (`munmap` and a TLB flush
    /// on every core): storing images took a fifth more of the server's CPU with it.
    @Test func connectionsReadPagesWithoutMappingTheFile() async throws {
        try await Self.withStore { store in
            let writing = try await store.transaction { try await $0.raw("PRAGMA mmap_size").all() }
            let reading = try await store.read { try await $0.raw("PRAGMA mmap_size").all() }
            for rows in [writing, reading] {
                #expect(try rows.first?.decode(column: "mmap_size", as: Int.self) == 0)
            }
        }
    }

    private struct Row: Decodable, Equatable {
        let id: Int
        let label: String?
        let payload: Data?
        let ratio: Double?
    }

    /// Statements are prepared once and kept: a kept statement run again with other parameters
    /// must not see the previous run's values, and text, blobs (empty ones too, which are not
    /// NULL), reals and NULL come back as they went in.
    @Test func keptStatementsRunAgainWithFreshParameters() async throws {
        try await Self.withStore { store in
            try await store.transaction { database in
                try await database.raw("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT, payload BLOB, ratio REAL)").run()
                let rows: [(Int, String?, Data?, Double?)] = [
                    (1, "Hélène 李", Data([0, 1, 2, 255]), 0.5), (2, nil, Data(), nil), (3, "", nil, -2.25),
                ]
                for (id, label, payload, ratio) in rows {
                    try await database.raw("INSERT INTO t (id, label, payload, ratio) VALUES (\(bind: id), \(bind: label), \(bind: payload), \(bind: ratio))").run()
                }
            }
            let rows = try await store.read { database in
                try await database.raw("SELECT id, label, payload, ratio FROM t ORDER BY id").all(decoding: Row.self)
            }
            #expect(rows == [
                Row(id: 1, label: "Hélène 李", payload: Data([0, 1, 2, 255]), ratio: 0.5),
                Row(id: 2, label: nil, payload: Data(), ratio: nil),
                Row(id: 3, label: "", payload: nil, ratio: -2.25),
            ])
            for id in [3, 1, 2] {
                let label = try await store.read { database in
                    try await database.raw("SELECT label FROM t WHERE id = \(bind: id)").first()?.decode(column: "label", as: String?.self)
                }
                #expect(label == rows.first { $0.id == id }?.label)
            }
            let empty = try await store.read { database in
                try await database.raw("SELECT payload IS NULL AS missing FROM t WHERE id = 2").first()?.decode(column: "missing", as: Bool.self)
            }
            #expect(empty == false)
        }
    }

    /// A kept statement comparing indexed columns with its parameters runs again with other
    /// values without SQLite preparing it again (SQLite 3.54 otherwise re-plans it whenever
    /// such a value changes: the break-glass check of every request did).
    @Test func aKeptStatementIsNotPreparedAgainForOtherValues() throws {
        let path = NSTemporaryDirectory() + "hygie-plans-" + UUID().uuidString + ".sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let connection = try SQLiteDirectConnection(path: path)
        defer { connection.close() }
        #expect(connection.hasStablePlans)
        try connection.run("CREATE TABLE grants (account TEXT NOT NULL, patient TEXT NOT NULL, expires INTEGER NOT NULL)")
        try connection.run("CREATE INDEX grants_account ON grants (account, expires)")
        try connection.run("INSERT INTO grants VALUES ('a1', 'p1', 100), ('a2', 'p2', 200)")
        let sql = "SELECT DISTINCT patient FROM grants WHERE account = ?1 AND expires > ?2"
        var found: [[String]] = []
        for (account, now) in [("a1", 50), ("a2", 150), ("a1", 150), ("a2", 250)] {
            found.append(try connection.rows(sql, [.text(account), .integer(now)]).compactMap { $0.column("patient")?.string })
        }
        #expect(found == [["p1"], ["p2"], [], []])
        #expect(connection.timesPreparedAgain(sql) == 0)
    }

    /// More statement shapes than the cache keeps: it is emptied and refilled, and every query
    /// still answers.
    @Test func statementsBeyondTheCacheStillRun() async throws {
        try await Self.withStore { store in
            let sums = try await store.read { database in
                var sums: [Int] = []
                for count in 1...700 {
                    let terms = (1...count).map { _ in "1" }.joined(separator: " + ")
                    sums.append(try await database.raw(SQLQueryString("SELECT \(unsafeRaw: terms) AS total")).first()?.decode(column: "total", as: Int.self) ?? 0)
                }
                return sums
            }
            #expect(sums == Array(1...700))
        }
    }

    /// A text holding two statements would run only its first: it is refused instead.
    @Test func aSecondStatementInOneTextIsRefused() async throws {
        try await Self.withStore { store in
            await #expect(throws: (any Error).self) {
                try await store.transaction { try await $0.raw("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)").run() }
            }
            try await store.transaction { try await $0.raw("CREATE TABLE a (x INTEGER);").run() }
        }
    }

    /// A unique constraint is reported as such (callers retry or answer 409 on it), by code.
    @Test func aUniqueViolationIsClassified() async throws {
        try await Self.withStore { store in
            try await store.transaction { database in
                try await database.raw("CREATE TABLE u (k TEXT PRIMARY KEY, v TEXT UNIQUE)").run()
                try await database.raw("INSERT INTO u VALUES ('a', 'x')").run()
            }
            for statement in ["INSERT INTO u VALUES ('a', 'y')", "INSERT INTO u VALUES ('b', 'x')"] {
                do {
                    try await store.transaction { try await $0.raw(SQLQueryString(statement)).run() }
                    Issue.record("\(statement) was accepted")
                } catch {
                    #expect(StorageError.classify(error) == .uniqueViolation)
                }
            }
        }
    }

    /// A COMMIT that fails (here a deferred foreign key) leaves SQLite's transaction open: the
    /// store rolls it back, so nothing of it is kept and the next transaction can begin.
    @Test func aFailedCommitIsRolledBack() async throws {
        try await Self.withStore { store in
            try await store.transaction { database in
                try await database.raw("CREATE TABLE parent (id INTEGER PRIMARY KEY)").run()
                try await database.raw("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)").run()
            }
            await #expect(throws: (any Error).self) {
                try await store.transaction { database in
                    try await database.raw("INSERT INTO child VALUES (1, 42)").run()
                }
            }
            try await store.transaction { database in
                try await database.raw("INSERT INTO parent VALUES (7)").run()
                try await database.raw("INSERT INTO child VALUES (2, 7)").run()
            }
            let children = try await store.read { database in
                try await database.raw("SELECT id FROM child ORDER BY id").all().map { try $0.decode(column: "id", as: Int.self) }
            }
            #expect(children == [2])
        }
    }

    /// Another process holding the write lock (two stores on one file stand for it) makes
    /// writers wait in SQLite's busy handler. That wait must not take the cooperative threads:
    /// the holder's own transaction needs one to finish, and with them all asleep nobody would
    /// commit until every waiter timed out.
    @Test func writersWaitingForAnotherConnectionsLockLeaveTheHolderRoomToCommit() async throws {
        let directory = NSTemporaryDirectory() + "hygie-storage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let holder = try await SQLiteStore.open(path: directory + "/test.sqlite", readers: 1, logger: Logger(label: "test"))
        // As many other stores as there are cooperative threads, and more: each has one writer.
        var others: [SQLiteStore] = []
        for _ in 0..<4 {
            others.append(try await SQLiteStore.open(path: directory + "/test.sqlite", readers: 1, logger: Logger(label: "test")))
        }
        try await holder.transaction { try await $0.raw("CREATE TABLE w (x INTEGER)").run() }
        let held = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let holding = Task {
            try await holder.transaction { database in
                try await database.raw("INSERT INTO w VALUES (0)").run()
                held.continuation.yield()
                for await _ in release.stream { break }
                try await database.raw("INSERT INTO w VALUES (1)").run()
            }
        }
        for await _ in held.stream { break }
        let waiting = (0..<8).map { value in
            Task { [others] in try await others[value % others.count].transaction { try await $0.raw("INSERT INTO w VALUES (\(bind: 100 + value))").run() } }
        }
        // Once the writers wait in SQLite's busy handler, this task still gets a thread to read
        // and to let the holder go on; with the cooperative threads asleep in the handler it
        // would only resume when the writers gave up ("database is locked").
        try await Task.sleep(for: .milliseconds(200))
        let one = try await holder.read { try await $0.raw("SELECT 1 AS one").first()?.decode(column: "one", as: Int.self) }
        #expect(one == 1)
        release.continuation.yield()
        try await holding.value
        for task in waiting { try await task.value }
        let count = try await others[0].read { try await $0.raw("SELECT COUNT(*) AS n FROM w").first()?.decode(column: "n", as: Int.self) }
        #expect(count == 10)
        await holder.close()
        for other in others { await other.close() }
    }

    /// A runaway statement is interrupted at the query timeout, reported as a timeout (answered
    /// 503 too-costly), and the connection serves the next query.
    @Test func aStatementPastTheTimeoutIsInterrupted() async throws {
        let directory = NSTemporaryDirectory() + "hygie-storage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(path: directory + "/test.sqlite", readers: 1, statementTimeout: 1, logger: Logger(label: "test"))
        let endless: SQLQueryString = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000000) SELECT COUNT(*) AS c FROM n"
        do {
            _ = try await store.read { try await $0.raw(endless).first() }
            Issue.record("the statement ran to its end")
        } catch {
            #expect(StorageError.classify(error) == .timeout)
        }
        do {
            try await store.transaction { database in
                try await database.raw("CREATE TABLE t AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000000) SELECT i FROM n").run()
            }
            Issue.record("the statement ran to its end")
        } catch {
            #expect(StorageError.classify(error) == .timeout)
        }
        let one = try await store.read { try await $0.raw("SELECT 1 AS one").first()?.decode(column: "one", as: Int.self) }
        #expect(one == 1)
        try await store.transaction { try await $0.raw("CREATE TABLE u (x INTEGER)").run() }
        await store.close()
    }
}
