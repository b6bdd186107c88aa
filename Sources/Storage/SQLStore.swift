import Logging
import PostgresNIO
import SQLKit
import ServiceLifecycle

/// Which SQL engine a store talks to. Only DDL and a few engine features (advisory locks)
/// differ; every query above Storage is written once through SQLKit (DESIGN §1).
public enum SQLDialectKind: String, Sendable {
    case sqlite, postgres
}

/// A relational database: SQLite embedded in the process, or a PostgreSQL server.
///
/// Reads run on a connection that sees committed data. Writes run inside one transaction that
/// commits when the body returns and rolls back when it throws, so nothing half-written
/// survives a failed request (DESIGN §6).
public protocol SQLStore: Service {
    var dialect: SQLDialectKind { get }
    var logger: Logger { get }

    func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T
    func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T
    /// Closes every connection. The store is unusable afterwards.
    func close() async
}

/// Storage failures that callers act on, classified by the engine's error code, never by
/// message text (STYLE habit 6).
public enum StorageError: Error, Sendable, Equatable {
    /// A unique constraint refused the row (a concurrent writer created it first).
    case uniqueViolation
    /// The engine could not serialise this transaction with a concurrent one; retry it.
    case serializationFailure
    /// The store is closed or cannot be reached.
    case unavailable(String)
    /// The statement ran past the query timeout and was cancelled.
    case timeout
    case invalidConfiguration(String)
    case migration(String)

    /// The classified form of an engine error, nil when it is not one callers act on.
    public static func classify(_ error: any Error) -> StorageError? {
        if let storage = error as? StorageError { return storage }
        if let sqlite = error as? SQLiteFailure {
            if sqlite.isUniqueViolation { return .uniqueViolation }
            if sqlite.isBusy { return .serializationFailure }
            if sqlite.isInterrupted { return .timeout }
            return nil
        }
        if let postgres = error as? PSQLError, let state = postgres.serverInfo?[.sqlState] {
            switch state {
            case PostgresError.Code.uniqueViolation.raw: return .uniqueViolation
            case PostgresError.Code.serializationFailure.raw, PostgresError.Code.deadlockDetected.raw:
                return .serializationFailure
            case PostgresError.Code.queryCanceled.raw:
                return .timeout
            default: return nil
            }
        }
        return nil
    }
}
