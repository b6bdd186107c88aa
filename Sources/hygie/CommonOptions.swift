import ArgumentParser
import Core
import HygieServer
import Storage
import Foundation
import Logging

/// Options shared by every command: where the data lives.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory of the embedded database, blobs and master key [env: HYGIE_DATA_DIR] (default: ./data).")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL postgres://user:password@host:5432/db; without it, the embedded SQLite database is used [env: HYGIE_DATABASE_URL].")
    var databaseURL: String?

    @Option(name: .customLong("database-schema"), help: "PostgreSQL schema to use [env: HYGIE_DATABASE_SCHEMA] (default: the connection's search path).")
    var databaseSchema: String?

    @Option(name: .customLong("database-pool-size"), help: "Database connections kept open [env: HYGIE_DATABASE_POOL_SIZE] (default: 8).")
    var databasePoolSize: Int?

    @Option(name: .customLong("query-timeout"), help: "Seconds a PostgreSQL statement may run before it is cancelled, 0 for no limit [env: HYGIE_QUERY_TIMEOUT] (default: 30).")
    var queryTimeout: Int?

    @Option(name: .customLong("master-key-file"), help: "Master key file, created with mode 0600 when absent [env: HYGIE_MASTER_KEY_FILE] (default: <data-dir>/master.key).")
    var masterKeyFile: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical [env: HYGIE_LOG_LEVEL] (default: info).")
    var logLevel: String?

    func apply(to configuration: inout HygieConfiguration) throws {
        let environment = ProcessInfo.processInfo.environment
        if let value = dataDirectory ?? environment["HYGIE_DATA_DIR"] { configuration.dataDirectory = value }
        configuration.databaseURL = databaseURL ?? environment["HYGIE_DATABASE_URL"]
        configuration.databaseSchema = databaseSchema ?? environment["HYGIE_DATABASE_SCHEMA"]
        if let value = try integer(databasePoolSize, "HYGIE_DATABASE_POOL_SIZE", environment) { configuration.databasePoolSize = value }
        if let value = try integer(queryTimeout, "HYGIE_QUERY_TIMEOUT", environment) {
            guard value >= 0 else { throw ValidationError("The query timeout cannot be negative.") }
            configuration.queryTimeout = value
        }
        configuration.masterKeyFile = masterKeyFile ?? environment["HYGIE_MASTER_KEY_FILE"]
        if let text = logLevel ?? environment["HYGIE_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: text) else { throw ValidationError("Unknown log level '\(text)'.") }
            configuration.logLevel = level
        }
    }
}

extension StorageOptions {
    /// Opens the platform for a one-off command and closes it afterwards, whatever happens.
    func withPlatform(component: String, _ body: (Platform, HygieConfiguration) async throws -> Void) async throws {
        var configuration = HygieConfiguration()
        try apply(to: &configuration)
        let platform = try await Platform.open(configuration, environment: HygieEnvironment(), logger: .hygie(component, level: configuration.logLevel))
        do {
            try await body(platform, configuration)
        } catch {
            await platform.store.close()
            throw error
        }
        await platform.store.close()
    }
}

/// Reads an integer option, falling back to its environment variable.
func integer(_ option: Int?, _ variable: String, _ environment: [String: String]) throws -> Int? {
    if let option { return option }
    guard let text = environment[variable] else { return nil }
    guard let value = Int(text) else { throw ValidationError("\(variable) must be a whole number, not '\(text)'.") }
    return value
}

/// A flag that an environment variable can also turn on (`1`, `true` or `yes`).
func flag(_ option: Bool, _ variable: String, _ environment: [String: String]) -> Bool {
    option || ["1", "true", "yes"].contains(environment[variable]?.lowercased() ?? "")
}
