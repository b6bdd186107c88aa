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

    @Option(name: .customLong("query-timeout"), help: "Seconds a database statement (PostgreSQL or SQLite) may run before it is cancelled, 0 for no limit [env: HYGIE_QUERY_TIMEOUT] (default: 30).")
    var queryTimeout: Int?

    @Option(name: .customLong("master-key-file"), help: "Master key file, created with mode 0600 when absent [env: HYGIE_MASTER_KEY_FILE] (default: <data-dir>/master.key).")
    var masterKeyFile: String?

    @Option(name: .customLong("s3-endpoint"), help: "http(s)://host[:port] of an S3-compatible store for the blobs, with HYGIE_S3_ACCESS_KEY and HYGIE_S3_SECRET_KEY in the environment; without it, blobs are files under <data-dir>/blobs [env: HYGIE_S3_ENDPOINT].")
    var s3Endpoint: String?

    @Option(name: .customLong("s3-bucket"), help: "Bucket of the S3 store [env: HYGIE_S3_BUCKET] (default: hygie).")
    var s3Bucket: String?

    @Option(name: .customLong("s3-region"), help: "Region the S3 signatures name [env: HYGIE_S3_REGION] (default: us-east-1).")
    var s3Region: String?

    @Option(name: .customLong("s3-download-lifetime"), help: "Seconds a presigned download URL stays valid [env: HYGIE_S3_DOWNLOAD_LIFETIME] (default: 300).")
    var s3DownloadLifetime: Int?

    @Flag(name: .customLong("s3-no-server-side-encryption"), help: "Do not ask the store to encrypt published downloads (for stores without SSE) [env: HYGIE_S3_SSE=0].")
    var s3NoServerSideEncryption = false

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
        try applyS3(to: &configuration, environment)
        if let text = logLevel ?? environment["HYGIE_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: text) else { throw ValidationError("Unknown log level '\(text)'.") }
            configuration.logLevel = level
        }
    }
}

extension StorageOptions {
    /// The S3 store, when an endpoint is named; its keys come from the environment only, never
    /// the command line (which other users of the machine can read).
    func applyS3(to configuration: inout HygieConfiguration, _ environment: [String: String]) throws {
        guard let endpoint = s3Endpoint ?? environment["HYGIE_S3_ENDPOINT"], !endpoint.isEmpty else { return }
        guard let access = environment["HYGIE_S3_ACCESS_KEY"], let secret = environment["HYGIE_S3_SECRET_KEY"], !access.isEmpty, !secret.isEmpty else {
            throw ValidationError("The S3 store needs HYGIE_S3_ACCESS_KEY and HYGIE_S3_SECRET_KEY in the environment.")
        }
        var settings = S3Settings(
            endpoint: endpoint, bucket: s3Bucket ?? environment["HYGIE_S3_BUCKET"] ?? "hygie",
            region: s3Region ?? environment["HYGIE_S3_REGION"] ?? "us-east-1", accessKey: access, secretKey: secret)
        if let value = try integer(s3DownloadLifetime, "HYGIE_S3_DOWNLOAD_LIFETIME", environment) {
            guard (1...604_800).contains(value) else { throw ValidationError("The download lifetime must be between 1 second and 7 days.") }
            settings.downloadLifetime = value
        }
        settings.serverSideEncryption = !(s3NoServerSideEncryption || ["0", "false", "no"].contains(environment["HYGIE_S3_SSE"]?.lowercased() ?? ""))
        configuration.s3 = settings
    }

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
