import Foundation
import NIOSSL
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=…` URL as PostgresClient settings.
public struct PostgresURL: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool

    public init(_ text: String) throws(StorageError) {
        guard let components = URLComponents(string: text),
            components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else {
            throw .invalidConfiguration("HYGIE_DATABASE_URL must look like postgres://user:password@host:5432/database")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user?.removingPercentEncoding ?? "postgres"
        self.password = components.password?.removingPercentEncoding
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? username : path
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        switch sslmode {
        case "disable", "allow", "prefer": self.requireTLS = false
        case "require", "verify-ca", "verify-full": self.requireTLS = true
        default: throw .invalidConfiguration("unknown sslmode '\(sslmode)' (disable or require)")
        }
    }

    func clientConfiguration(schema: String?, maximumConnections: Int, statementTimeout: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = maximumConnections
        // No keep-alive queries: with them, closing the client sometimes never finished
        // (PostgresNIO 1.33.2: a keep-alive timer's task outlives the pool it belongs to; about one
        // close in fifty hung with a 60 ms keep-alive, and a test run's shutdown with the default
        // 30 s). Idle connections are closed after the idle timeout instead; one the server closes
        // leaves the pool when its socket does.
        configuration.options.keepAliveBehavior = nil
        if let schema {
            configuration.options.additionalStartupParameters.append(("search_path", schema))
        }
        if statementTimeout > 0 {
            configuration.options.additionalStartupParameters.append(("statement_timeout", "\(statementTimeout)s"))
        }
        return configuration
    }
}
