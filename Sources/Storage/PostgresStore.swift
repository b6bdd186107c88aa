import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import ServiceLifecycle

/// PostgreSQL, for several `hygie serve` processes sharing one database. Connections come
/// from a PostgresClient pool.
///
/// The pool's run loop starts with the store, not with the ServiceGroup: migrations, key
/// loading and the search-parameter table are read before the server (and its services)
/// start. The store's service only closes the pool on graceful shutdown.
public final class PostgresStore: SQLStore {
    public let dialect = SQLDialectKind.postgres
    public let logger: Logger
    let client: PostgresClient
    private let runLoop: Task<Void, Never>

    /// - Parameter schema: the schema to work in (tests isolate themselves in one each).
    /// - Parameter statementTimeout: seconds a statement may run before PostgreSQL cancels it
    ///   (0: no limit), so that a runaway query cannot hold a connection and a core for hours.
    public init(url: PostgresURL, schema: String? = nil, maximumConnections: Int = 8, statementTimeout: Int = 30, logger: Logger) {
        let client = PostgresClient(
            configuration: url.clientConfiguration(schema: schema, maximumConnections: maximumConnections, statementTimeout: statementTimeout),
            backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.runLoop = Task { await client.run() }
    }

    public func read<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await connection.sql(queryLogLevel: nil).inTransaction(begin: "BEGIN", body)
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    public func close() async {
        runLoop.cancel()
        await runLoop.value
    }
}

extension SQLDatabase {
    /// Runs `body` between `begin` and COMMIT on this connection, rolling back when it throws.
    /// (The SQLite store runs its own: its BEGIN and COMMIT may wait, and do so off the
    /// cooperative pool.)
    fileprivate func inTransaction<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        begin: String,
        _ body: (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(self)
            try await raw("COMMIT").run()
            return result
        } catch {
            try? await raw("ROLLBACK").run()
            throw error
        }
    }
}
