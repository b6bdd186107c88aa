import Core
import FHIR
import FHIRStore
import Foundation
import HygieServer
import SQLKit
import Storage
import Testing

@Suite struct OperationsTests {
    @Test func reindexRebuildsALostIndex() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            _ = try await platform.fhir.create(Fixture.patient(family: "Réindexé"), type: "Patient", as: .system(tenant))
            let query = try SearchQuery.parse(resourceType: "Patient", parameters: [("family", "reindexe")])
            #expect(try await platform.fhir.search(query, as: .system(tenant)).total == 1)
            try await platform.store.transaction { try await $0.raw("DELETE FROM fhir_idx_string").run() }
            #expect(try await platform.fhir.search(query, as: .system(tenant)).total == 0)
            #expect(try await platform.fhir.reindex() == 1)
            #expect(try await platform.fhir.search(query, as: .system(tenant)).total == 1)
        }
    }

    @Test func demoDataLoadsOnceAndIsValid() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let loaded = try await DemoData.loadIfEmpty(into: platform.fhir, tenant: tenant)
            #expect(loaded > 300)
            #expect(try await DemoData.loadIfEmpty(into: platform.fhir, tenant: tenant) == 0)
            var everything = SearchQuery(resourceType: nil)
            everything.count = 1000
            let result = try await platform.fhir.search(everything, as: .system(tenant))
            #expect(result.total == loaded)
            for resource in result.matches {
                #expect(ResourceValidator().validate(try resource.json()) == [], "\(resource.reference)")
            }
            let patients = try SearchQuery.parse(resourceType: "Patient", parameters: [("_summary", "count")])
            #expect(try await platform.fhir.search(patients, as: .system(tenant)).total == DemoData.patientCount)
        }
    }
}

@Suite struct CommandLineTests {
    static var binary: String? {
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        let path = directory.appendingPathComponent(".build/debug/hygie").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary!)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    @Test(.enabled(if: binary != nil))
    func helpNamesEveryCommandAndEveryOptionsVariable() throws {
        let top = try Self.run(["--help"])
        for command in ["serve", "migrate", "reindex", "seed-demo", "rotate-key", "create-superadmin", "rotate-signing-key", "audit"] {
            #expect(top.contains(command), "\(command)")
        }
        let serve = try Self.run(["serve", "--help"])
        for (option, variable) in [
            ("--host", "HYGIE_HOST"), ("--port", "HYGIE_PORT"), ("--base-url", "HYGIE_BASE_URL"), ("--max-body-size", "HYGIE_MAX_BODY_SIZE"),
            ("--demo", "HYGIE_DEMO"), ("--data-dir", "HYGIE_DATA_DIR"), ("--database-url", "HYGIE_DATABASE_URL"),
            ("--database-schema", "HYGIE_DATABASE_SCHEMA"), ("--database-pool-size", "HYGIE_DATABASE_POOL_SIZE"),
            ("--master-key-file", "HYGIE_MASTER_KEY_FILE"), ("--log-level", "HYGIE_LOG_LEVEL"), ("--query-timeout", "HYGIE_QUERY_TIMEOUT"),
            ("--rate-limit-account", "HYGIE_RATE_LIMIT_ACCOUNT"), ("--rate-limit-address", "HYGIE_RATE_LIMIT_ADDRESS"),
            ("--break-glass-duration", "HYGIE_BREAK_GLASS_DURATION"), ("--smtp-host", "HYGIE_SMTP_HOST"), ("--smtp-port", "HYGIE_SMTP_PORT"),
            ("--mail-from", "HYGIE_MAIL_FROM"),
        ] {
            #expect(serve.contains(option) && serve.contains(variable), "\(option) / \(variable)")
        }
    }

    @Test(.enabled(if: binary != nil))
    func migrateReportsAndRevertsOnAFreshDirectory() throws {
        let directory = NSTemporaryDirectory() + "hygie-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let applied = try Self.run(["migrate", "--data-dir", directory])
        #expect(applied.contains("Applied"))
        #expect(try Self.run(["migrate", "--data-dir", directory]).contains("up to date"))
        #expect(try Self.run(["migrate", "--status", "--data-dir", directory]).contains("applied  101"))
        #expect(try Self.run(["migrate", "--revert-to", "100", "--data-dir", directory]).contains("Reverted"))
        #expect(try Self.run(["migrate", "--status", "--data-dir", directory]).contains("pending  101"))
    }

    @Test(.enabled(if: binary != nil))
    func createSuperAdminMakesOneAccountPerUsernameAndAuditVerifyReports() throws {
        let directory = NSTemporaryDirectory() + "hygie-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let created = try Self.run(["create-superadmin", "--username", "chef.admin", "--data-dir", directory])
        #expect(created.contains("Created super admin \"chef.admin\"") && created.contains("mediconnect"))
        #expect(try Self.run(["create-superadmin", "--username", "chef.admin", "--data-dir", directory]).contains("taken"))
        #expect(try Self.run(["audit", "verify", "--data-dir", directory]).contains("intact"))
        #expect(try Self.run(["rotate-signing-key", "--data-dir", directory]).contains("New signing key"))
    }
}
