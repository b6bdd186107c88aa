import ArgumentParser
import Core
import FHIRStore
import Foundation
import HygieServer
import Logging
import Storage

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations (serve also applies them at start).")

    @OptionGroup var storage: StorageOptions

    @Option(name: .customLong("revert-to"), help: "Revert applied migrations down to this id instead (0 reverts all).")
    var revertTo: Int?

    @Flag(help: "List migrations and whether they are applied, without changing anything.")
    var status = false

    func run() async throws {
        var configuration = HygieConfiguration()
        try storage.apply(to: &configuration)
        let logger = Logger.hygie("migrate", level: configuration.logLevel)
        let store = try await Platform.openDatabase(configuration, logger: logger)
        do {
            let migrator = try Migrator(store: store, migrations: Platform.migrations)
            if status {
                let applied = Set(try await migrator.appliedIDs())
                for migration in Platform.migrations {
                    print("\(applied.contains(migration.id) ? "applied" : "pending")  \(migration.id)  \(migration.name)")
                }
            } else if let revertTo {
                let reverted = try await migrator.revert(downTo: revertTo)
                print("Reverted \(reverted.count) migration(s): \(reverted.map { "\($0.id)" }.joined(separator: ", "))")
            } else {
                let applied = try await migrator.migrate()
                print(applied.isEmpty ? "The database is up to date." : "Applied \(applied.count) migration(s): \(applied.map { "\($0.id) \($0.name)" }.joined(separator: "; "))")
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

struct Reindex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the FHIR search index of every resource.")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        try await storage.withPlatform(component: "reindex") { platform, _ in
            let count = try await platform.fhir.reindex(progress: { done in
                if done % 10_000 == 0 { print("… \(done) resources") }
            })
            print("Reindexed \(count) resources.")
        }
    }
}

struct SeedDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-demo",
        abstract: "Load the demonstration data set and accounts (only into an empty database; accounts must change their password).")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        try await storage.withPlatform(component: "seed") { platform, configuration in
            let count = try await DemoData.loadIfEmpty(into: platform.fhir, tenant: configuration.defaultTenant)
            print(count == 0 ? "The database already holds data; nothing loaded." : "Loaded \(count) demonstration resources.")
            if try await DemoAccounts.load(into: platform, tenant: configuration.defaultTenant, open: false) {
                print("Created \(DemoAccounts.people.count) demonstration accounts (password \"mediconnect\", to change at first sign-in).")
            }
        }
    }
}

struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Make a new data key the one new records are sealed with (older records stay readable).")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        try await storage.withPlatform(component: "keys") { platform, configuration in
            let key = try await platform.keyRing.rotate(tenant: configuration.defaultTenant)
            print("New data key \(key.id) is active for tenant \(configuration.defaultTenant).")
        }
    }
}
