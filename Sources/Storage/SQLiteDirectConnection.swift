import CSQLiteSettings
import Dispatch
import Logging
import NIOCore
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization
// The SQLite library SQLiteNIO vendors (its symbols carry a `sqlite_nio_` prefix). The store must
// use that copy and no other: two SQLite libraries in one process do not see each other's POSIX
// locks on the same file, and closing a descriptor in one silently drops the other's locks.
import VaporCSQLite

/// One SQLite connection driven through the C API on the calling thread, with its prepared
/// statements kept for reuse.
///
/// SQLiteNIO prepares every statement anew and runs each on a thread pool, then hands the result
/// back through an event loop: for the index writes of one DICOM instance that was a tenth of
/// the CPU in preparation and a sixth in thread hand-offs. Statements here run where the caller
/// is; the store sends the calls that wait on the disk (COMMIT's fsync, checkpoints) to its
/// thread pool.
///
/// Not thread-safe: the store's pools hand a connection to one borrower at a time, and the
/// pool's actor orders one borrower's use before the next one's.
final class SQLiteDirectConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    /// Prepared statements kept per connection. The SQL the services issue comes from a bounded
    /// set of shapes (IN lists and multi-row inserts vary in length), so the cache rarely fills;
    /// when it does it is emptied and refilled.
    static let statementCacheSize = 512

    /// When the running statement must stop (monotonic nanoseconds, 0 when none runs), read by
    /// the store's watchdog, which interrupts a statement past it. The lock also keeps the
    /// watchdog from interrupting a closed handle.
    private let deadline = Mutex<UInt64>(0)
    private let statementTimeout: UInt64

    /// - Parameter statementTimeout: seconds a statement may run before the store's watchdog
    ///   interrupts it (SQLITE_INTERRUPT, classified as `StorageError.timeout`), 0 for no limit.
    init(path: String, statementTimeout: Int = 0) throws {
        self.statementTimeout = UInt64(max(0, statementTimeout)) * 1_000_000_000
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        var handle: OpaquePointer?
        let status = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let failure = SQLiteFailure(code: status, message: handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "cannot open \(path)")
            sqlite_nio_sqlite3_close_v2(handle)
            throw failure
        }
        sqlite_nio_sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds)
        // Plans that do not depend on bound values: otherwise SQLite 3.54 prepares a kept
        // statement again whenever a value it compares against changes (a time bound, a UID),
        // which was every run of the access and locate statements of each DICOM request.
        let stable = hygie_sqlite_enable_stable_plans(UnsafeMutableRawPointer(handle))
        guard stable == SQLITE_OK else {
            sqlite_nio_sqlite3_close_v2(handle)
            throw SQLiteFailure(code: stable, message: "cannot configure the connection to \(path)")
        }
        self.handle = handle
    }

    /// Whether the connection's plans ignore bound values (SQLITE_DBCONFIG_ENABLE_QPSG).
    var hasStablePlans: Bool {
        guard let handle else { return false }
        return hygie_sqlite_stable_plans_enabled(UnsafeMutableRawPointer(handle)) == 1
    }

    /// How many times SQLite prepared the kept statement of `sql` again since it was kept
    /// (nil: not kept).
    func timesPreparedAgain(_ sql: String) -> Int32? {
        statements[sql].map { sqlite_nio_sqlite3_stmt_status($0, Int32(SQLITE_STMTSTATUS_REPREPARE), 0) }
    }

    /// How long a statement waits for a lock another connection (another process: a CLI
    /// command) holds before failing with SQLITE_BUSY.
    static let busyTimeoutMilliseconds: Int32 = 10_000

    /// Begins a write transaction if the write lock is free at once; false when another
    /// connection holds it. Waiting for it sleeps in SQLite's busy handler, which the caller
    /// must do off the cooperative pool (`run("BEGIN IMMEDIATE")` on a thread of its own).
    func beginIfFree() throws -> Bool {
        guard let handle else { throw StorageError.unavailable("the database is closed") }
        sqlite_nio_sqlite3_busy_timeout(handle, 0)
        defer { sqlite_nio_sqlite3_busy_timeout(handle, Self.busyTimeoutMilliseconds) }
        do {
            try run("BEGIN IMMEDIATE")
            return true
        } catch let failure as SQLiteFailure where failure.isBusy {
            return false
        }
    }

    deinit {
        close()
    }

    func close() {
        for statement in statements.values {
            sqlite_nio_sqlite3_finalize(statement)
        }
        statements = [:]
        deadline.withLock { _ in
            if let handle {
                sqlite_nio_sqlite3_close_v2(handle)
            }
            handle = nil
        }
    }

    /// Interrupts the running statement if it has run past the statement timeout. Called from
    /// another thread (the store's watchdog): `sqlite3_interrupt` is safe there, and the lock
    /// keeps the handle open meanwhile.
    func interruptIfOverdue(now: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        deadline.withLock { deadline in
            if deadline != 0, now > deadline, let handle {
                sqlite_nio_sqlite3_interrupt(handle)
            }
        }
    }

    /// Runs one statement with its parameters and hands each result row to `onRow`.
    func run(_ sql: String, _ binds: [SQLiteData] = [], _ onRow: (SQLiteResultRow) throws -> Void = { _ in }) throws {
        guard let handle else { throw StorageError.unavailable("the database is closed") }
        let statement = try prepared(sql, handle: handle)
        if statementTimeout > 0 {
            let limit = DispatchTime.now().uptimeNanoseconds + statementTimeout
            deadline.withLock { $0 = limit }
        }
        defer {
            if statementTimeout > 0 { deadline.withLock { $0 = 0 } }
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        for (index, value) in binds.enumerated() {
            try check(bind(value, at: Int32(index + 1), in: statement), handle)
        }
        var columns: SQLiteResultRow.Columns?
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw SQLiteFailure(status, handle) }
            let names = columns ?? SQLiteResultRow.Columns(statement)
            columns = names
            var values: [SQLiteData] = []
            values.reserveCapacity(names.names.count)
            for column in 0..<Int32(names.names.count) {
                values.append(value(at: column, of: statement))
            }
            try onRow(SQLiteResultRow(columns: names, values: values))
        }
    }

    /// The rows of one statement, collected.
    func rows(_ sql: String, _ binds: [SQLiteData] = []) throws -> [SQLiteResultRow] {
        var rows: [SQLiteResultRow] = []
        try run(sql, binds) { rows.append($0) }
        return rows
    }

    private func prepared(_ sql: String, handle: OpaquePointer) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        if statements.count >= Self.statementCacheSize {
            for statement in statements.values {
                sqlite_nio_sqlite3_finalize(statement)
            }
            statements = [:]
        }
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let status = sql.withCString { text in
            let status = sqlite_nio_sqlite3_prepare_v3(handle, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &tail)
            // A second statement in the same text would be silently skipped: refuse it instead.
            if status == SQLITE_OK, let tail, String(cString: tail).contains(where: { !$0.isWhitespace && $0 != ";" }) {
                return SQLITE_MISUSE
            }
            return status
        }
        guard status == SQLITE_OK, let statement else {
            sqlite_nio_sqlite3_finalize(statement)
            if status == SQLITE_MISUSE {
                throw SQLiteFailure(code: status, message: "one statement at a time: \(sql)")
            }
            throw SQLiteFailure(status, handle)
        }
        statements[sql] = statement
        return statement
    }

    private func bind(_ value: SQLiteData, at index: Int32, in statement: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let integer):
            return sqlite_nio_sqlite3_bind_int64(statement, index, Int64(integer))
        case .float(let double):
            return sqlite_nio_sqlite3_bind_double(statement, index, double)
        case .text(let text):
            return sqlite_nio_sqlite3_bind_text64(statement, index, text, UInt64(text.utf8.count), transient, UInt8(SQLITE_UTF8))
        case .blob(let buffer):
            guard buffer.readableBytes > 0 else { return sqlite_nio_sqlite3_bind_zeroblob(statement, index, 0) }
            return buffer.withUnsafeReadableBytes { bytes in
                sqlite_nio_sqlite3_bind_blob64(statement, index, bytes.baseAddress, UInt64(bytes.count), transient)
            }
        case .null:
            return sqlite_nio_sqlite3_bind_null(statement, index)
        }
    }

    private func value(at column: Int32, of statement: OpaquePointer) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT:
            return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let text = sqlite_nio_sqlite3_column_text(statement, column)
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            guard let text else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count))
            }
            return .blob(buffer)
        default:
            return .null
        }
    }

    private func check(_ status: Int32, _ handle: OpaquePointer) throws {
        guard status == SQLITE_OK else { throw SQLiteFailure(status, handle) }
    }
}

private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// An error SQLite returned, with its extended result code (storage errors are classified by
/// code, never by message).
struct SQLiteFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(_ code: Int32, _ handle: OpaquePointer) {
        self.init(code: code, message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }

    var primaryCode: Int32 { code & 0xff }
    var isUniqueViolation: Bool { code == SQLITE_CONSTRAINT_UNIQUE_CODE || code == SQLITE_CONSTRAINT_PRIMARYKEY_CODE }
    var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    /// Stopped by the statement timeout (the store's watchdog).
    var isInterrupted: Bool { primaryCode == SQLITE_INTERRUPT }

    var description: String { "SQLite error \(code): \(message)" }
}

// ClangImporter does not import SQLite's extended result codes (macros built from other macros).
private let SQLITE_CONSTRAINT_UNIQUE_CODE = SQLITE_CONSTRAINT | (8 << 8)
private let SQLITE_CONSTRAINT_PRIMARYKEY_CODE = SQLITE_CONSTRAINT | (6 << 8)

/// A result row: values in column order, with the column names shared by the statement's rows.
struct SQLiteResultRow: SQLRow {
    final class Columns: Sendable {
        let names: [String]
        let offsets: [String: Int]

        init(_ statement: OpaquePointer) {
            let count = sqlite_nio_sqlite3_column_count(statement)
            names = (0..<count).map { String(cString: sqlite_nio_sqlite3_column_name(statement, $0)) }
            offsets = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    let columns: Columns
    let values: [SQLiteData]
    private static let decoder = SQLiteDataDecoder()

    func column(_ name: String) -> SQLiteData? {
        columns.offsets[name].map { values[$0] }
    }

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.offsets[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        (self.column(column) ?? .null) == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let value = self.column(column) else {
            throw DecodingError.keyNotFound(
                SQLiteColumnKey(column), .init(codingPath: [], debugDescription: "no column \(column) in the result")
            )
        }
        return try Self.decoder.decode(D.self, from: value)
    }
}

private struct SQLiteColumnKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A connection seen through SQLKit: queries are serialised in SQLite's dialect, their
/// parameters encoded the way SQLiteKit encodes them, and run on the calling thread.
struct SQLiteDirectDatabase: SQLDatabase {
    let connection: SQLiteDirectConnection
    let eventLoop: any EventLoop
    let logger: Logger
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }
    private static let encoder = SQLiteDataEncoder()

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        eventLoop.makeCompletedFuture { try run(query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> ()) throws {
        let (sql, binds) = serialize(query)
        try connection.run(sql, binds.map { try Self.encoder.encode($0) }) { onRow($0) }
    }
}
