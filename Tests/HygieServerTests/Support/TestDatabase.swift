import Core
import Foundation
import Logging
import SQLKit
import Storage

/// Where a test's data lives: a fresh SQLite directory, or a fresh schema of the PostgreSQL
/// server named by `HYGIE_TEST_DATABASE_URL` (the test command runs the suite both ways).
struct TestDatabase: Sendable {
    static let postgresURL = ProcessInfo.processInfo.environment["HYGIE_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static var isPostgres: Bool { postgresURL != nil }

    let directory: String
    let schema: String?

    static func make() async throws -> TestDatabase {
        let name = "t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let directory = NSTemporaryDirectory() + "hygie-test-" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let url = postgresURL else { return TestDatabase(directory: directory, schema: nil) }
        let admin = PostgresStore(url: try PostgresURL(url), maximumConnections: 1, logger: Logger(label: "test"))
        try await admin.transaction { database in
            try await database.raw("CREATE SCHEMA \(unsafeRaw: String(name))").run()
        }
        await admin.close()
        return TestDatabase(directory: directory, schema: String(name))
    }

    func configuration() -> HygieConfiguration {
        var configuration = HygieConfiguration()
        configuration.dataDirectory = directory
        configuration.databaseURL = Self.postgresURL
        configuration.databaseSchema = schema
        configuration.databasePoolSize = 3
        configuration.logLevel = .warning
        configuration.publicBaseURL = "http://hygie.test"
        // No background job racing the test's shutdown for the store.
        configuration.slotHorizonInterval = 0
        return configuration
    }

    func drop() async {
        try? FileManager.default.removeItem(atPath: directory)
        guard let url = Self.postgresURL, let schema, let parsed = try? PostgresURL(url) else { return }
        let admin = PostgresStore(url: parsed, maximumConnections: 1, logger: Logger(label: "test"))
        try? await admin.transaction { database in
            try await database.raw("DROP SCHEMA \(unsafeRaw: schema) CASCADE").run()
        }
        await admin.close()
    }
}
