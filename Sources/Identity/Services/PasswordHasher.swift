import HummingbirdBcrypt
import Foundation
import NIOPosix

/// bcrypt hashing on NIO's thread pool, never on an event loop (STYLE: apple/swift-nio).
public struct PasswordHasher: Sendable {
    /// Work factor; issue 3 asks for at least 12.
    public let cost: UInt8

    public init(cost: UInt8 = 12) {
        precondition(cost >= 12, "bcrypt cost below 12 is refused")
        self.cost = cost
    }

    /// The password every new account starts with, to be changed at first sign-in (DESIGN §6).
    public static let defaultPassword = "mediconnect"

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks `password` against `hash`; without a hash (an unknown username) it checks
    /// against a decoy, so that both cases cost the same time.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive {
            guard let hash else {
                _ = Bcrypt.verify(password, hash: Self.decoy)
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }

    /// A hash of a password nobody knows, made on first use (on the thread pool).
    static let decoy = Bcrypt.hash(UUID().uuidString, cost: 12)

    /// Rules for a chosen password: long enough, not the default, not the username.
    public static func problems(with password: String, username: String) -> String? {
        if password.count < 10 { return "The new password must have at least 10 characters." }
        if password == defaultPassword { return "The new password may not be the default password." }
        if password.lowercased() == username.lowercased() { return "The new password may not be the username." }
        return nil
    }
}
