import Core
import FHIR
import FHIRStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

    /// Runs the built `hygie` with `arguments` and returns what it printed (standard output and
    /// error). Spawned directly rather than through Foundation's `Process`, whose search for
    /// descriptors to close copies 256 bytes from each `/proc/self/fd` entry and can read past
    /// the end of its buffer: it crashed this process once when other suites held some 1 350
    /// descriptors open.
    static func run(_ arguments: [String]) throws -> String {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }  // the child keeps only its dup2 copies
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, ends[1], STDERR_FILENO)
        let argv = ([binary!] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child = pid_t()
        let spawned = posix_spawn(&child, binary!, &actions, nil, argv, environ)
        close(ends[1])
        defer { close(ends[0]) }
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOEXEC) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(ends[0], &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            output.append(contentsOf: chunk[..<count])
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
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
