import Access
import Core
import FHIRStore
import Foundation
import HummingbirdOTP
import SQLKit
import Storage

/// The TOTP second factor (RFC 6238: 6 digits, 30-second steps, SHA-1, as authenticator apps
/// expect), optional per account, required for a role when an admin says so.
extension IdentityService {
    /// A new secret for the account, not active until a code from it is confirmed. Returns
    /// the secret (base32) and the `otpauth://` URL authenticator apps read.
    public func startTOTPEnrolment(_ account: Account) async throws -> (secret: String, url: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var generator = SystemRandomNumberGenerator()
        let secret = String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt32(alphabet.count)))] })
        let key = try await signer.keyRing.activeKey(for: account.tenant)
        let sealed = try key.seal(Data(secret.utf8), context: Data("totp|\(account.id.rawValue)".utf8))
        try await database.transaction { database in
            try await database.raw(
                """
                UPDATE accounts SET totp_secret = \(bind: sealed), totp_key_id = \(bind: key.id), totp_enabled = \(bind: false)
                WHERE id = \(bind: account.id.rawValue) AND totp_enabled = \(bind: false)
                """
            ).run()
        }
        let url = TOTP(secret: secret).createAuthenticatorURL(label: account.username, issuer: "Hygie")
        let base32 = url.components(separatedBy: "secret=").dropFirst().first?.components(separatedBy: "&").first ?? ""
        return (base32, url)
    }

    /// Turns the factor on once a code from the pending secret checks out.
    public func confirmTOTP(_ account: Account, code: String, address: String?) async throws {
        guard let secret = try await totpSecret(account), Self.verify(code: code, secret: secret, at: clock.now()) else {
            throw IdentityError(400, "totp-invalid", "The code does not match; check the authenticator app's clock and try again.")
        }
        let record = AuditRecord(agent: Self.agent(account.principal(address: address)), kind: .accountChange, action: .update, detail: "TOTP enabled")
        try await fhir.audited([record], tenant: account.tenant) { database in
            try await database.raw("UPDATE accounts SET totp_enabled = \(bind: true) WHERE id = \(bind: account.id.rawValue)").run()
        }
    }

    /// Turns the factor off (with the password), unless the account's role requires it.
    public func disableTOTP(_ account: Account, password: String, address: String?) async throws {
        guard let hash = try await accounts.passwordHash(account.id), try await hasher.verify(password, hash: hash) else {
            throw IdentityError(403, "wrong-password", "The current password is wrong.")
        }
        if try await totpRequired(for: account) { throw IdentityError(403, "totp-required-by-role", "Your role requires the second factor.") }
        let record = AuditRecord(agent: Self.agent(account.principal(address: address)), kind: .accountChange, action: .update, detail: "TOTP disabled")
        try await fhir.audited([record], tenant: account.tenant) { database in
            try await database.raw(
                "UPDATE accounts SET totp_enabled = \(bind: false), totp_secret = NULL, totp_key_id = NULL WHERE id = \(bind: account.id.rawValue)"
            ).run()
        }
    }

    func totpSecret(_ account: Account) async throws -> String? {
        guard
            let row = try await database.read({ database in
                try await database.raw("SELECT totp_secret, totp_key_id FROM accounts WHERE id = \(bind: account.id.rawValue)").first()
            }), let sealed = try row.decode(column: "totp_secret", as: Data?.self), let keyID = try row.decode(column: "totp_key_id", as: String?.self)
        else { return nil }
        let key = try await signer.keyRing.key(id: keyID)
        return String(decoding: try key.open(sealed, context: Data("totp|\(account.id.rawValue)".utf8)), as: UTF8.self)
    }

    /// A code is accepted for the current step and one step either side (clock drift).
    static func verify(code: String, secret: String, at date: Date) -> Bool {
        guard code.count == 6, let value = Int(code) else { return false }
        let totp = TOTP(secret: secret)
        return [-30.0, 0, 30].contains { totp.compute(date: date.addingTimeInterval($0)) == value }
    }

    /// Checks the second factor at sign-in.
    func checkSecondFactor(_ account: Account, code: String?) async throws {
        guard account.totpEnabled else { return }
        guard let code, !code.isEmpty else {
            throw IdentityError(401, "totp-required", "Enter the 6-digit code of your authenticator app.")
        }
        guard let secret = try await totpSecret(account), Self.verify(code: code, secret: secret, at: clock.now()) else {
            throw IdentityError(401, "totp-invalid", "The code does not match.")
        }
    }

    /// Whether an admin requires the second factor for the account's role (everywhere, or at
    /// its hospital).
    public func totpRequired(for account: Account) async throws -> Bool {
        let scopes = ["*"] + (account.hospital.map { [$0] } ?? [])
        return try await database.read { database in
            try await database.raw(
                """
                SELECT 1 AS required FROM totp_requirements WHERE tenant_id = \(bind: account.tenant.rawValue)
                AND role = \(bind: account.role.rawValue) AND scope IN (\(binds: scopes))
                """
            ).first() != nil
        }
    }

    /// Whether the account must enrol a second factor before doing anything else.
    public func mustEnrolTOTP(_ account: Account) async throws -> Bool {
        guard !account.totpEnabled else { return false }
        return try await totpRequired(for: account)
    }

    /// Requires (or stops requiring) the second factor for a role: everywhere for a super
    /// admin, at their own hospital for a hospital admin.
    public func requireTOTP(by principal: Principal, role: Role, required: Bool) async throws {
        let scope: String
        switch principal.role {
        case .superAdmin: scope = "*"
        case .hospitalAdmin:
            guard let hospital = principal.hospital, Role.staffRoles.contains(role) || role == .hospitalAdmin else { throw IdentityError.forbidden }
            scope = hospital
        default: throw IdentityError.forbidden
        }
        let record = AuditRecord(
            agent: Self.agent(principal), kind: .accountChange, action: .update, detail: "TOTP \(required ? "required" : "optional") for \(role.rawValue)")
        try await fhir.audited([record], tenant: principal.tenant) { database in
            try await database.raw(
                "DELETE FROM totp_requirements WHERE tenant_id = \(bind: principal.tenant.rawValue) AND scope = \(bind: scope) AND role = \(bind: role.rawValue)"
            ).run()
            if required {
                try await database.raw(
                    "INSERT INTO totp_requirements (tenant_id, scope, role) VALUES (\(bind: principal.tenant.rawValue), \(bind: scope), \(bind: role.rawValue))"
                ).run()
            }
        }
    }
}
