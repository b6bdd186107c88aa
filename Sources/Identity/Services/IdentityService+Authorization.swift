import Access
import Core
import Crypto
import FHIR
import FHIRStore
import Foundation
import SQLKit
import Storage

/// What the token endpoint answers to an authorization code.
public struct CodeExchange: Sendable {
    public var tokens: TokenPair
    public var scope: String
    public var idToken: String?
    /// SMART launch context: the patient in context (a patient account's own record).
    public var patient: String?
}

extension IdentityService {
    /// Authorization codes live one minute (RFC 6749 §4.1.2 recommends at most ten).
    static let codeLifetime: Int64 = 60_000

    /// The scopes a client may be granted out of what it asked: those it is registered for
    /// (OpenID and SMART context scopes only when it registered them too).
    public func grantedScope(_ requested: String, client: OAuthClient) -> String {
        let allowed = Set(client.scope.raw)
        return requested.split(separator: " ").map(String.init).filter { allowed.contains($0) }.joined(separator: " ")
    }

    /// Issues an authorization code for a signed-in account (RFC 6749 §4.1; PKCE RFC 7636
    /// with S256 required).
    public func issueCode(
        client: OAuthClient, account: Account, redirectURI: String, scope: String, codeChallenge: String, nonce: String?
    ) async throws -> String {
        let code = Self.randomToken()
        let expires = now() + Self.codeLifetime
        try await database.transaction { database in
            try await database.raw(
                """
                INSERT INTO authorization_codes (code_hash, tenant_id, client_id, account_id, redirect_uri, scope, code_challenge, nonce, expires_at)
                VALUES (\(bind: Self.digest(code)), \(bind: account.tenant.rawValue), \(bind: client.id), \(bind: account.id.rawValue),
                    \(bind: redirectURI), \(bind: scope), \(bind: codeChallenge), \(bind: nonce), \(bind: expires))
                """
            ).run()
        }
        return code
    }

    /// Exchanges a code once: same client, same redirect URI, a verifier whose S256 hash is
    /// the challenge, within its minute.
    public func exchange(code: String, client: OAuthClient, redirectURI: String?, verifier: String?) async throws -> CodeExchange {
        let hash = Self.digest(code)
        let now = now()
        let invalid = IdentityError(400, "invalid_grant", "The authorization code is invalid, expired or already used.")
        let row = try await database.transaction { database -> (any SQLRow)? in
            let lock = database.dialect.name == "postgresql" ? " FOR UPDATE" : ""
            guard
                let row = try await database.raw(
                    """
                    SELECT client_id, account_id, redirect_uri, scope, code_challenge, nonce, expires_at, used_at FROM authorization_codes
                    WHERE code_hash = \(bind: hash) AND tenant_id = \(bind: client.tenant.rawValue)\(unsafeRaw: lock)
                    """
                ).first(), try row.decode(column: "used_at", as: Int64?.self) == nil
            else { return nil }
            try await database.raw("UPDATE authorization_codes SET used_at = \(bind: now) WHERE code_hash = \(bind: hash)").run()
            return row
        }
        guard let row, try row.decode(column: "expires_at", as: Int64.self) > now, try row.decode(column: "client_id", as: String.self) == client.id,
            try row.decode(column: "redirect_uri", as: String.self) == redirectURI
        else { throw invalid }
        guard let verifier, (43...128).contains(verifier.count),
            Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) == (try row.decode(column: "code_challenge", as: String.self))
        else { throw IdentityError(400, "invalid_grant", "The code_verifier does not match the code_challenge (PKCE S256).") }
        guard let account = try await accounts.find(AccountID(try row.decode(column: "account_id", as: String.self)), tenant: client.tenant), account.active
        else { throw invalid }
        let scope = try row.decode(column: "scope", as: String.self)
        let scopes = ScopeSet(scope)
        let refresh = scopes.contains("offline_access") && client.grantTypes.contains("refresh_token")
        let tokens = try await issueTokens(for: account, family: ids.makeID(), scope: scope, clientID: client.id, withRefresh: refresh)
        var idToken: String?
        if scopes.contains("openid") {
            idToken = try self.idToken(for: account, client: client, nonce: try row.decode(column: "nonce", as: String?.self), scopes: scopes)
        }
        let patient = scopes.contains("launch/patient") ? account.patient : nil
        try await fhir.record(
            AuditRecord(agent: Self.agent(account.principal()), kind: .login, action: .execute, entities: [], detail: "OAuth client \(client.id)"),
            tenant: account.tenant)
        return CodeExchange(tokens: tokens, scope: scope, idToken: idToken, patient: patient)
    }

    /// The account's FHIR resource as an absolute URL (SMART `fhirUser`).
    public func fhirUser(_ account: Account) -> String? {
        if let practitioner = account.practitioner { return "\(issuer)/fhir/Practitioner/\(practitioner)" }
        if let patient = account.patient { return "\(issuer)/fhir/Patient/\(patient)" }
        return nil
    }

    /// An OpenID Connect ID token (OIDC Core §2), ES256.
    func idToken(for account: Account, client: OAuthClient, nonce: String?, scopes: ScopeSet) throws -> String {
        let issuedAt = Int(clock.now().timeIntervalSince1970)
        var claims: JSONObject = [
            "iss": .string(issuer), "sub": .string(account.id.rawValue), "aud": .string(client.id),
            "iat": .number(JSONNumber(issuedAt)), "exp": .number(JSONNumber(issuedAt + 3600)), "auth_time": .number(JSONNumber(issuedAt)),
            "preferred_username": .string(account.username),
        ]
        if let nonce { claims["nonce"] = .string(nonce) }
        if scopes.contains("fhirUser"), let user = fhirUser(account) { claims["fhirUser"] = .string(user) }
        return try signer.sign(.object(claims))
    }

    /// OIDC UserInfo (OIDC Core §5.3) for an access token granted `openid`.
    public func userinfo(accessToken: String) async throws -> JSON? {
        guard let (account, claims) = try await authenticate(accessToken: accessToken),
            claims["scope"]?.stringValue.map(ScopeSet.init)?.contains("openid") == true
        else { return nil }
        var info: JSONObject = ["sub": .string(account.id.rawValue), "preferred_username": .string(account.username)]
        if let user = fhirUser(account) { info["fhirUser"] = .string(user) }
        if let email = account.email { info["email"] = .string(email) }
        return .object(info)
    }
}
