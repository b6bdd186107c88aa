import Access
import Core
import Crypto
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// Tokens handed out at sign-in.
public struct TokenPair: Sendable {
    public var accessToken: String
    public var refreshToken: String
    public var expiresIn: Int
    public var account: Account
}

extension IdentityService {
    /// Signs in with a username and password. Failures are throttled per account and per
    /// address; an unknown username costs the same bcrypt work as a wrong password.
    /// With the TOTP factor on, `code` must be the current code of the account's
    /// authenticator (a wrong one counts as a failed sign-in).
    public func login(username: String, password: String, code: String? = nil, tenant: TenantID, address: String?) async throws -> TokenPair {
        let account = try await signIn(username: username, password: password, code: code, tenant: tenant, address: address)
        return try await issueTokens(for: account, family: ids.makeID())
    }

    /// Checks a sign-in (throttled, audited either way) and returns the account: shared by
    /// the API, which then issues tokens, and the web, which opens a session.
    func signIn(username: String, password: String, code: String?, tenant: TenantID, address: String?) async throws -> Account {
        let name = username.lowercased()
        if let wait = throttle.wait(account: name, address: address) {
            throw IdentityError(429, "too-many-attempts", "Too many failed sign-ins; try again in \(wait) s.", retryAfter: wait)
        }
        let found = try await accounts.find(username: name, tenant: tenant)
        let matches = try await hasher.verify(password, hash: found?.hash)
        guard let (account, _) = found, matches, account.active else {
            throttle.failed(account: name, address: address)
            let agent = AuditAgent(account: found?.0.id.rawValue ?? "unknown", who: nil, role: found?.0.role.rawValue ?? "unknown", address: address)
            let reason = found == nil ? "unknown username" : !matches ? "wrong password" : "inactive account"
            try await fhir.record(AuditRecord(agent: agent, kind: .login, action: .execute, outcome: .minorFailure, detail: reason), tenant: tenant)
            throw IdentityError.invalidCredentials
        }
        do {
            try await checkSecondFactor(account, code: code)
        } catch let error as IdentityError {
            if error.code == "totp-invalid" {
                throttle.failed(account: name, address: address)
                let agent = AuditAgent(account: account.id.rawValue, who: nil, role: account.role.rawValue, address: address)
                try await fhir.record(AuditRecord(agent: agent, kind: .login, action: .execute, outcome: .minorFailure, detail: "wrong TOTP code"), tenant: tenant)
            }
            throw error
        }
        throttle.succeeded(account: name)
        try await fhir.record(AuditRecord(agent: Self.agent(account.principal(address: address)), kind: .login, action: .execute), tenant: tenant)
        return account
    }

    func issueTokens(
        for account: Account, family: String, scope: String? = nil, clientID: String? = nil, withRefresh: Bool = true
    ) async throws -> TokenPair {
        let issuedAt = clock.now().timeIntervalSince1970
        var claims: JSONObject = [
            "iss": .string(issuer), "sub": .string(account.id.rawValue), "tid": .string(account.tenant.rawValue),
            "typ": "access", "role": .string(account.role.rawValue), "jti": .string(ids.makeID()),
            "iat": .number(JSONNumber(Int(issuedAt))), "exp": .number(JSONNumber(Int(issuedAt + Self.accessTokenLifetime))),
        ]
        if let scope { claims["scope"] = .string(scope) }
        if let clientID { claims["client_id"] = .string(clientID) }
        let access = try signer.sign(.object(claims))
        guard withRefresh else { return TokenPair(accessToken: access, refreshToken: "", expiresIn: Int(Self.accessTokenLifetime), account: account) }
        let refresh = Self.randomToken()
        let now = now()
        try await database.transaction { database in
            try await database.raw(
                """
                INSERT INTO refresh_tokens (token_hash, tenant_id, account_id, family_id, issued_at, expires_at, client_id, scope)
                VALUES (\(bind: Self.digest(refresh)), \(bind: account.tenant.rawValue), \(bind: account.id.rawValue), \(bind: family),
                    \(bind: now), \(bind: now + Int64(Self.refreshTokenLifetime * 1000)), \(bind: clientID), \(bind: scope))
                """
            ).run()
        }
        return TokenPair(accessToken: access, refreshToken: refresh, expiresIn: Int(Self.accessTokenLifetime), account: account)
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once: presenting
    /// one that was already used revokes its whole family (RFC 9700 §4.14.2, rotation).
    /// With `clientID`, the token must have been issued to that client (OAuth); the new
    /// tokens keep the client and scopes of the original sign-in.
    public func refresh(_ token: String, tenant: TenantID, clientID: String? = nil) async throws -> TokenPair {
        let hash = Self.digest(token)
        let now = now()
        let outcome: Result<(AccountID, String, String?, String?), IdentityError> = try await database.transaction { database in
            let lock = database.dialect.name == "postgresql" ? " FOR UPDATE" : ""
            guard
                let row = try await database.raw(
                    """
                    SELECT account_id, family_id, expires_at, used_at, revoked_at, client_id, scope FROM refresh_tokens
                    WHERE token_hash = \(bind: hash) AND tenant_id = \(bind: tenant.rawValue)\(unsafeRaw: lock)
                    """
                ).first()
            else { return .failure(.unauthenticated) }
            let family = try row.decode(column: "family_id", as: String.self)
            let issuedTo = try row.decode(column: "client_id", as: String?.self)
            guard issuedTo == clientID else { return .failure(IdentityError(400, "invalid_grant", "This refresh token was not issued to this client.")) }
            if try row.decode(column: "used_at", as: Int64?.self) != nil {
                try await database.raw("UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE family_id = \(bind: family) AND revoked_at IS NULL").run()
                return .failure(IdentityError(401, "refresh-token-reused", "This refresh token was already used; every token of its sign-in is revoked."))
            }
            guard try row.decode(column: "revoked_at", as: Int64?.self) == nil, try row.decode(column: "expires_at", as: Int64.self) > now else {
                return .failure(IdentityError(401, "refresh-token-expired", "This refresh token has expired or was revoked; sign in again."))
            }
            try await database.raw("UPDATE refresh_tokens SET used_at = \(bind: now) WHERE token_hash = \(bind: hash)").run()
            return .success((AccountID(try row.decode(column: "account_id", as: String.self)), family, issuedTo, try row.decode(column: "scope", as: String?.self)))
        }
        let (accountID, family, client, scope) = try outcome.get()
        guard let account = try await accounts.find(accountID, tenant: tenant), account.active else { throw IdentityError.unauthenticated }
        return try await issueTokens(for: account, family: family, scope: scope, clientID: client)
    }

    /// Revokes the sign-in a refresh token belongs to.
    public func logout(refreshToken: String, by account: Account, address: String?) async throws {
        let hash = Self.digest(refreshToken)
        let now = now()
        let tenant = account.tenant
        let record = AuditRecord(agent: Self.agent(account.principal(address: address)), kind: .logout, action: .execute)
        try await fhir.audited([record], tenant: tenant) { database in
            try await database.raw(
                """
                UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE revoked_at IS NULL AND tenant_id = \(bind: tenant.rawValue)
                AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = \(bind: hash))
                """
            ).run()
        }
    }

    /// Changes the caller's own password: the only way any password changes (DESIGN §6).
    /// Revokes the account's other sign-ins.
    public func changePassword(of account: Account, current: String, new: String, address: String? = nil) async throws {
        guard let hash = try await accounts.passwordHash(account.id), try await hasher.verify(current, hash: hash) else {
            throw IdentityError(403, "wrong-password", "The current password is wrong.")
        }
        if let problem = PasswordHasher.problems(with: new, username: account.username) { throw IdentityError.invalid(problem) }
        let newHash = try await hasher.hash(new)
        let now = now()
        let record = AuditRecord(agent: Self.agent(account.principal(address: address)), kind: .passwordChange, action: .update)
        try await fhir.audited([record], tenant: account.tenant) { database in
            try await database.raw(
                """
                UPDATE accounts SET password_hash = \(bind: newHash), must_change_password = \(bind: false), password_changed_at = \(bind: now),
                    updated_at = \(bind: now) WHERE id = \(bind: account.id.rawValue)
                """
            ).run()
            try await database.raw(
                "UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE account_id = \(bind: account.id.rawValue) AND revoked_at IS NULL"
            ).run()
        }
        logger.info("password changed", metadata: ["account": "\(account.id)"])
    }

    public static func randomToken() -> String {
        Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    static func digest(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }
}
