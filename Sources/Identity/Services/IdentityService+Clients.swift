import Access
import Core
import FHIR
import Foundation
import SQLKit
import Storage

/// An application registered to use Hygie's OAuth 2.0 endpoints.
public struct OAuthClient: Sendable, Equatable {
    public var id: String
    public var tenant: TenantID
    public var name: String
    /// Confidential clients authenticate with a secret; public ones (browser, mobile apps)
    /// rely on PKCE alone.
    public var isConfidential: Bool
    public var grantTypes: [String]
    public var redirectURIs: [String]
    /// The most this client may ask for.
    public var scope: ScopeSet
    public var active: Bool
}

extension IdentityService {
    public static let grantTypes: Set<String> = ["authorization_code", "client_credentials", "refresh_token"]

    /// Registers a client (super admin). Returns the client and, for a confidential one, its
    /// secret: shown once, stored only as a digest.
    public func registerClient(
        by principal: Principal, name: String, grantTypes: [String], redirectURIs: [String], scope: String, confidential: Bool
    ) async throws -> (OAuthClient, secret: String?) {
        try require(principal, .manageHospitals)
        guard !name.isEmpty, name.count <= 200 else { throw IdentityError.invalid("A client needs a name (at most 200 characters).") }
        guard !grantTypes.isEmpty, Set(grantTypes).isSubset(of: Self.grantTypes) else {
            throw IdentityError.invalid("grant_types are among: \(Self.grantTypes.sorted().joined(separator: ", ")).")
        }
        if grantTypes.contains("client_credentials"), !confidential {
            throw IdentityError.invalid("client_credentials needs a confidential client (with a secret).")
        }
        if grantTypes.contains("authorization_code") {
            guard !redirectURIs.isEmpty, redirectURIs.allSatisfy({ URL(string: $0)?.scheme != nil && !$0.contains("#") }) else {
                throw IdentityError.invalid("authorization_code needs absolute redirect URIs without fragment.")
            }
        }
        let secret = confidential ? Self.randomToken() : nil
        let client = OAuthClient(
            id: ids.makeID(), tenant: principal.tenant, name: name, isConfidential: confidential, grantTypes: grantTypes,
            redirectURIs: redirectURIs, scope: ScopeSet(scope), active: true)
        let now = now()
        try await database.transaction { database in
            try await database.raw(
                """
                INSERT INTO oauth_clients (client_id, tenant_id, name, secret_hash, grant_types, redirect_uris, scope, active, created_by, created_at)
                VALUES (\(bind: client.id), \(bind: client.tenant.rawValue), \(bind: name), \(bind: secret.map(Self.digest)),
                    \(bind: grantTypes.joined(separator: " ")), \(bind: redirectURIs.joined(separator: " ")), \(bind: scope),
                    \(bind: true), \(bind: principal.account), \(bind: now))
                """
            ).run()
        }
        return (client, secret)
    }

    public func client(_ id: String, tenant: TenantID) async throws -> (OAuthClient, secretHash: String?)? {
        try await database.read { database in
            guard
                let row = try await database.raw(
                    """
                    SELECT client_id, name, secret_hash, grant_types, redirect_uris, scope, active FROM oauth_clients
                    WHERE client_id = \(bind: id) AND tenant_id = \(bind: tenant.rawValue)
                    """
                ).first()
            else { return nil }
            let hash = try row.decode(column: "secret_hash", as: String?.self)
            let client = OAuthClient(
                id: id, tenant: tenant, name: try row.decode(column: "name", as: String.self), isConfidential: hash != nil,
                grantTypes: try row.decode(column: "grant_types", as: String.self).split(separator: " ").map(String.init),
                redirectURIs: try row.decode(column: "redirect_uris", as: String.self).split(separator: " ").map(String.init),
                scope: ScopeSet(try row.decode(column: "scope", as: String.self)), active: try row.decode(column: "active", as: Bool.self))
            return (client, hash)
        }
    }

    /// Checks a client's credentials; nil when they do not match an active client.
    public func authenticateClient(id: String, secret: String?, tenant: TenantID) async throws -> OAuthClient? {
        guard let (client, hash) = try await client(id, tenant: tenant), client.active else { return nil }
        if let hash {
            guard let secret, Self.constantTimeEqual(Self.digest(secret), hash) else { return nil }
        }
        return client
    }

    /// The client credentials grant (RFC 6749 §4.4; SMART Backend Services): an access token
    /// for the client itself, with the requested scopes it is registered for.
    public func clientCredentialsToken(for client: OAuthClient, requestedScope: String?) throws -> (token: String, scope: String, expiresIn: Int) {
        guard client.isConfidential, client.grantTypes.contains("client_credentials") else {
            throw IdentityError(400, "unauthorized_client", "This client may not use the client_credentials grant.")
        }
        let requested = requestedScope.map { $0.split(separator: " ").map(String.init) } ?? client.scope.raw
        let granted = requested.filter { client.scope.raw.contains($0) && $0.hasPrefix("system/") }
        guard !granted.isEmpty else { throw IdentityError(400, "invalid_scope", "Ask for system/ scopes this client is registered for.") }
        let issuedAt = clock.now().timeIntervalSince1970
        let scope = granted.joined(separator: " ")
        let claims: JSON = [
            "iss": .string(issuer), "sub": .string("client:\(client.id)"), "tid": .string(client.tenant.rawValue), "typ": "access",
            "client_id": .string(client.id), "scope": .string(scope), "jti": .string(ids.makeID()),
            "iat": .number(JSONNumber(Int(issuedAt))), "exp": .number(JSONNumber(Int(issuedAt + Self.accessTokenLifetime))),
        ]
        return (try signer.sign(claims), scope, Int(Self.accessTokenLifetime))
    }

    /// Who a valid access token speaks for: an account (with the token's scopes, if it was
    /// issued to an OAuth client) or a backend client.
    public func principal(accessToken: String, address: String?) async throws -> (Principal, account: Account?)? {
        guard let (claims, subject, tenant) = try await accessClaims(accessToken) else { return nil }
        let scopes = claims["scope"]?.stringValue.map(ScopeSet.init)
        if subject.hasPrefix("client:") {
            let id = String(subject.dropFirst("client:".count))
            guard let (client, _) = try await client(id, tenant: tenant), client.active else { return nil }
            return (Principal(account: subject, tenant: tenant, role: .system, scopes: scopes ?? ScopeSet(""), address: address), nil)
        }
        guard let account = try await accounts.find(AccountID(subject), tenant: tenant), account.active else { return nil }
        return (account.principal(address: address, scopes: scopes, breakGlass: try await breakGlassPatients(account)), account)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
