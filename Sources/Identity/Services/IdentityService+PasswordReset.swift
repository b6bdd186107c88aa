import Access
import Core
import FHIRStore
import Foundation
import SQLKit
import Storage

extension IdentityService {
    /// A reset link works for 30 minutes, once.
    public static let resetLifetime: TimeInterval = 30 * 60

    /// Starts a self-service reset: for an active account with an e-mail address, a
    /// single-use token to send there. Returns nil otherwise, and the caller answers the same
    /// either way (no account enumeration). Audited.
    public func requestPasswordReset(username: String, tenant: TenantID, address: String?) async throws -> (email: String, token: String)? {
        let name = username.lowercased()
        if let wait = throttle.wait(account: "reset:" + name, address: address) {
            throw IdentityError(429, "too-many-attempts", "Too many reset requests; try again in \(wait) s.", retryAfter: wait)
        }
        throttle.failed(account: "reset:" + name, address: nil)  // every request counts: 3 free, then slower
        guard let (account, _) = try await accounts.find(username: name, tenant: tenant), account.active, let email = account.email else { return nil }
        let token = Self.randomToken()
        let now = now()
        let record = AuditRecord(
            agent: Self.agent(account.principal(address: address)), kind: .passwordChange, action: .execute, detail: "password reset requested")
        try await fhir.audited([record], tenant: tenant) { database in
            try await database.raw(
                """
                INSERT INTO password_resets (token_hash, tenant_id, account_id, created_at, expires_at)
                VALUES (\(bind: Self.digest(token)), \(bind: tenant.rawValue), \(bind: account.id.rawValue), \(bind: now), \(bind: now + Int64(Self.resetLifetime * 1000)))
                """
            ).run()
        }
        return (email, token)
    }

    /// Whether a reset token is still usable (for the page that asks for the new password).
    public func resetTokenIsValid(_ token: String, tenant: TenantID) async throws -> Bool {
        let now = now()
        return try await database.read { database in
            try await database.raw(
                """
                SELECT 1 AS ok FROM password_resets WHERE token_hash = \(bind: Self.digest(token)) AND tenant_id = \(bind: tenant.rawValue)
                AND used_at IS NULL AND expires_at > \(bind: now)
                """
            ).first() != nil
        }
    }

    /// Sets the owner's new password with a reset token: once, before it expires. Ends the
    /// account's sessions and sign-ins; the account no longer needs a forced change.
    public func resetPassword(token: String, newPassword: String, tenant: TenantID, address: String?) async throws {
        let hash = Self.digest(token)
        let now = now()
        let invalid = IdentityError(400, "reset-invalid", "This reset link is not valid any more; ask for a new one.")
        guard
            let row = try await database.read({ database in
                try await database.raw(
                    """
                    SELECT account_id FROM password_resets WHERE token_hash = \(bind: hash) AND tenant_id = \(bind: tenant.rawValue)
                    AND used_at IS NULL AND expires_at > \(bind: now)
                    """
                ).first()
            }),
            let account = try await accounts.find(AccountID(try row.decode(column: "account_id", as: String.self)), tenant: tenant), account.active
        else { throw invalid }
        if let problem = PasswordHasher.problems(with: newPassword, username: account.username) { throw IdentityError.invalid(problem) }
        let newHash = try await hasher.hash(newPassword)
        let record = AuditRecord(
            agent: Self.agent(account.principal(address: address)), kind: .passwordChange, action: .update, detail: "password reset")
        let used = try await fhir.audited([record], tenant: tenant) { database -> Bool in
            // Marking the token used first makes a concurrent second use find nothing to update.
            let marked = try await database.raw(
                "UPDATE password_resets SET used_at = \(bind: now) WHERE token_hash = \(bind: hash) AND used_at IS NULL RETURNING account_id"
            ).first()
            guard marked != nil else { return false }
            try await database.raw(
                """
                UPDATE accounts SET password_hash = \(bind: newHash), must_change_password = \(bind: false), password_changed_at = \(bind: now),
                    updated_at = \(bind: now) WHERE id = \(bind: account.id.rawValue)
                """
            ).run()
            try await database.raw("UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE account_id = \(bind: account.id.rawValue) AND revoked_at IS NULL").run()
            try await database.raw("DELETE FROM web_sessions WHERE account_id = \(bind: account.id.rawValue)").run()
            return true
        }
        guard used else { throw invalid }
    }
}
