import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Logging
import NIOCore

/// The OAuth 2.0 token endpoint (RFC 6749 §3.2): client credentials for backend services and
/// refresh tokens. Errors use the RFC 6749 §5.2 shape.
struct OAuthController {
    let identity: IdentityService
    let tenant: TenantID
    let logger: Logger

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/.well-known/openid-configuration") { _, _ in Self.json(discovery()) }
        router.get("/.well-known/smart-configuration") { _, _ in Self.json(smartConfiguration()) }
        router.get("/fhir/.well-known/smart-configuration") { _, _ in Self.json(smartConfiguration()) }
        router.get("/oauth2/jwks") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: ByteBuffer(string: identity.signer.jwks().jsonText)))
        }
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/oauth2/userinfo", method: method) { request, _ in
                guard let token = request.bearerToken, let info = try await identity.userinfo(accessToken: token)
                else {
                    return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
                }
                return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: info.jsonText)))
            }
        }
        router.post("/oauth2/token") { request, context in
            do {
                return try await token(request, context)
            } catch let error as IdentityError {
                let code = error.code.contains("_") ? error.code : (error.status == 401 ? "invalid_client" : "invalid_grant")
                return Self.error(code, error.message, status: error.status == 401 && code != "invalid_client" ? 400 : error.status)
            } catch {
                logger.error("token request failed", metadata: ["request_id": "\(context.requestID)", "error": "\(String(reflecting: type(of: error)))"])
                return Self.error("server_error", "The token could not be issued.", status: 500)
            }
        }
    }

    func token(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            return Self.error("invalid_request", "Send the parameters as application/x-www-form-urlencoded.", status: 400)
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        let form = Dictionary(QueryString.parse(String(buffer: body)), uniquingKeysWith: { first, _ in first })
        switch form["grant_type"] {
        case "client_credentials":
            guard let client = try await authenticatedClient(request, form) else {
                return Self.error("invalid_client", "Unknown client or wrong secret.", status: 401)
            }
            let issued = try identity.clientCredentialsToken(for: client, requestedScope: form["scope"])
            return Self.json(["access_token": issued.token, "token_type": "Bearer", "expires_in": issued.expiresIn, "scope": issued.scope])
        case "authorization_code":
            guard let client = try await authenticatedClient(request, form), client.grantTypes.contains("authorization_code") else {
                return Self.error("invalid_client", "Unknown client, wrong secret, or a client not registered for this grant.", status: 401)
            }
            guard let code = form["code"] else { return Self.error("invalid_request", "code is missing.", status: 400) }
            let exchanged = try await identity.exchange(code: code, client: client, redirectURI: form["redirect_uri"], verifier: form["code_verifier"])
            var answer: [String: Any] = [
                "access_token": exchanged.tokens.accessToken, "token_type": "Bearer", "expires_in": exchanged.tokens.expiresIn, "scope": exchanged.scope,
            ]
            if !exchanged.tokens.refreshToken.isEmpty { answer["refresh_token"] = exchanged.tokens.refreshToken }
            if let idToken = exchanged.idToken { answer["id_token"] = idToken }
            if let patient = exchanged.patient { answer["patient"] = patient }
            return Self.json(answer)
        case "refresh_token":
            guard let client = try await authenticatedClient(request, form), client.grantTypes.contains("refresh_token") else {
                return Self.error("invalid_client", "Unknown client, wrong secret, or a client not registered for this grant.", status: 401)
            }
            guard let token = form["refresh_token"] else { return Self.error("invalid_request", "refresh_token is missing.", status: 400) }
            let pair = try await identity.refresh(token, tenant: tenant, clientID: client.id)
            return Self.json([
                "access_token": pair.accessToken, "token_type": "Bearer", "expires_in": pair.expiresIn, "refresh_token": pair.refreshToken,
            ])
        case nil:
            return Self.error("invalid_request", "grant_type is missing.", status: 400)
        case let other?:
            return Self.error("unsupported_grant_type", "The grant type \(other) is not supported here.", status: 400)
        }
    }

    var base: String { identity.issuer }

    static let scopesSupported = [
        "openid", "fhirUser", "profile", "launch/patient", "offline_access", "patient/*.rs", "patient/*.read", "user/*.cruds", "user/*.rs",
        "user/*.read", "user/*.write", "system/*.*", "system/*.rs", "system/*.read",
    ]

    /// OpenID Connect Discovery 1.0 §3.
    func discovery() -> [String: Any] {
        [
            "issuer": base, "authorization_endpoint": base + "/oauth2/authorize", "token_endpoint": base + "/oauth2/token",
            "jwks_uri": base + "/oauth2/jwks", "userinfo_endpoint": base + "/oauth2/userinfo", "end_session_endpoint": base + "/oauth2/logout",
            "response_types_supported": ["code"], "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"], "scopes_supported": Self.scopesSupported,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "fhirUser", "email"],
        ]
    }

    /// SMART App Launch 2.0 §2.1 (well-known discovery).
    func smartConfiguration() -> [String: Any] {
        [
            "issuer": base, "jwks_uri": base + "/oauth2/jwks", "authorization_endpoint": base + "/oauth2/authorize",
            "token_endpoint": base + "/oauth2/token", "userinfo_endpoint": base + "/oauth2/userinfo",
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": Self.scopesSupported, "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
            "capabilities": [
                "launch-standalone", "client-public", "client-confidential-symmetric", "context-standalone-patient", "sso-openid-connect",
                "permission-patient", "permission-user", "permission-v1", "permission-v2", "permission-offline",
            ],
        ]
    }

    /// Client authentication by HTTP Basic (RFC 6749 §2.3.1) or by form parameters.
    func authenticatedClient(_ request: Request, _ form: [String: String]) async throws -> OAuthClient? {
        var id = form["client_id"]
        var secret = form["client_secret"]
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6))).flatMap({ String(data: $0, encoding: .utf8) }),
            let colon = decoded.firstIndex(of: ":")
        {
            id = QueryString.percentDecode(String(decoded[..<colon]))
            secret = QueryString.percentDecode(String(decoded[decoded.index(after: colon)...]))
        }
        guard let id else { return nil }
        return try await identity.authenticateClient(id: id, secret: secret, tenant: tenant)
    }

    static func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ code: String, _ description: String, status: Int) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: ["error": code, "error_description": description], options: [.sortedKeys])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if status == 401 { headers[.wwwAuthenticate] = "Basic realm=\"hygie\"" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
