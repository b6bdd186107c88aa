import ArgumentParser
import Core
import FHIRStore
import HygieServer

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the audit trail.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the audit trail's hash chain from its first entry; report the first broken link.")

        @OptionGroup var storage: StorageOptions

        func run() async throws {
            try await storage.withPlatform(component: "audit") { platform, configuration in
                let result = try await platform.fhir.verifyAuditChain(tenant: configuration.defaultTenant)
                if let broken = result.firstBroken {
                    print("BROKEN at entry \(broken.seq): \(broken.reason) (\(result.checked) entries verified before it).")
                    throw ExitCode(1)
                }
                print("The audit trail is intact: \(result.checked) entries verified.")
            }
        }
    }
}
