import ArgumentParser
import Core
import Foundation
import HygieServer
import Identity

struct CreateSuperAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-superadmin",
        abstract: "Create a super admin account with the default password, to be changed at first sign-in.")

    @OptionGroup var storage: StorageOptions

    @Option(help: "Username of the new account (letters, digits, . - _ @) [env: HYGIE_SUPERADMIN_USERNAME] (default: superadmin).")
    var username: String?

    @Option(help: "E-mail address for password resets [env: HYGIE_SUPERADMIN_EMAIL].")
    var email: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let username = username ?? environment["HYGIE_SUPERADMIN_USERNAME"] ?? "superadmin"
        let email = email ?? environment["HYGIE_SUPERADMIN_EMAIL"]
        try await storage.withPlatform(component: "identity") { platform, configuration in
            do {
                let account = try await platform.identity.createSuperAdmin(username: username, email: email, tenant: configuration.defaultTenant)
                print(
                    """
                    Created super admin "\(account.username)" with the default password "\(PasswordHasher.defaultPassword)".
                    Sign in and choose a new password: nothing else is allowed until you do.
                    """)
            } catch let error as IdentityError {
                throw ValidationError(error.message)
            }
        }
    }
}

struct RotateSigningKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-signing-key",
        abstract: "Make a new key sign access and ID tokens; tokens signed by earlier keys stay valid until they expire.")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        try await storage.withPlatform(component: "identity") { platform, _ in
            let kid = try await platform.identity.signer.rotate()
            print("New signing key \(kid): servers sign with it once they restart or meet a token it signed; earlier keys keep verifying.")
        }
    }
}
