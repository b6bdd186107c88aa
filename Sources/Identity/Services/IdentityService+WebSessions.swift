import Access
import Core
import FHIRStore
import Foundation
import SQLKit
import Storage

/// A signed-in browser.
public struct WebSession: Sendable {
    public var account: Account
    /// The token every form of this session must carry (CSRF protection).
    public var csrfToken: String
}

extension IdentityService {
    /// A session ends after this long without a request…
    public static let sessionIdleTimeout: TimeInterval = 30 * 60
    /// …and this long after sign-in, whatever happens.
    public static let sessionAbsoluteTimeout: TimeInterval = 12 * 3600

    /// Signs in a browser: checks the password like `login` (throttled, audited) and returns
    /// the session cookie's value.
    public func startWebSession(
        username: String, password: String, code: String? = nil, tenant: TenantID, address: String?
    ) async throws -> (cookie: String, WebSession) {
        let account = try await signIn(username: username, password: password, code: code, tenant: tenant, address: address)
        let cookie = Self.randomToken()
        let csrf = Self.randomToken()
        let now = now()
        try await database.transaction { database in
            try await database.raw(
                """
                INSERT INTO web_sessions (token_hash, tenant_id, account_id, csrf_token, created_at, last_seen_at)
                VALUES (\(bind: Self.digest(cookie)), \(bind: tenant.rawValue), \(bind: account.id.rawValue), \(bind: csrf), \(bind: now), \(bind: now))
                """
            ).run()
        }
        return (cookie, WebSession(account: account, csrfToken: csrf))
    }

    /// The session a cookie names, if it has not timed out and its account is active; touches
    /// its idle timer.
    public func webSession(cookie: String, tenant: TenantID) async throws -> WebSession? {
        let hash = Self.digest(cookie)
        let now = now()
        let idle = Int64(Self.sessionIdleTimeout * 1000)
        let absolute = Int64(Self.sessionAbsoluteTimeout * 1000)
        guard
            let row = try await database.read({ database in
                try await database.raw(
                    "SELECT account_id, csrf_token, created_at, last_seen_at FROM web_sessions WHERE token_hash = \(bind: hash) AND tenant_id = \(bind: tenant.rawValue)"
                ).first()
            })
        else { return nil }
        let created = try row.decode(column: "created_at", as: Int64.self)
        let seen = try row.decode(column: "last_seen_at", as: Int64.self)
        guard now - seen < idle, now - created < absolute,
            let account = try await accounts.find(AccountID(try row.decode(column: "account_id", as: String.self)), tenant: tenant), account.active
        else {
            try await endWebSession(cookie: cookie)
            return nil
        }
        if now - seen > 60_000 {
            try await database.transaction { database in
                try await database.raw("UPDATE web_sessions SET last_seen_at = \(bind: now) WHERE token_hash = \(bind: hash)").run()
            }
        }
        return WebSession(account: account, csrfToken: try row.decode(column: "csrf_token", as: String.self))
    }

    public func endWebSession(cookie: String) async throws {
        let hash = Self.digest(cookie)
        try await database.transaction { database in
            try await database.raw("DELETE FROM web_sessions WHERE token_hash = \(bind: hash)").run()
        }
    }

    /// Signs a browser out, audited.
    public func signOut(cookie: String, session: WebSession, address: String?) async throws {
        let hash = Self.digest(cookie)
        let record = AuditRecord(agent: Self.agent(session.account.principal(address: address)), kind: .logout, action: .execute)
        try await fhir.audited([record], tenant: session.account.tenant) { database in
            try await database.raw("DELETE FROM web_sessions WHERE token_hash = \(bind: hash)").run()
        }
    }
}
