import Access
import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// The browser side of OAuth 2.0 / OpenID Connect: the authorization endpoint (RFC 6749
/// §4.1, PKCE S256 required, SMART `aud` checked) and RP-initiated logout (OIDC RP-Initiated
/// Logout 1.0). Sign-in happens on the web app's own page.
extension WebController {
    func addOAuthRoutes(to router: Router<AppRequestContext>) {
        router.get("/oauth2/authorize", use: page(authorize))
        router.get("/oauth2/logout", use: page(endSession))
    }

    func authorize(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = Dictionary(QueryString.parse(request.uri.query ?? ""), uniquingKeysWith: { first, _ in first })
        // Until the client and its redirect URI are known good, errors are shown, not redirected.
        guard let clientID = query["client_id"], let (client, _) = try await identity.client(clientID, tenant: tenant), client.active,
            client.grantTypes.contains("authorization_code")
        else { return errorPage(request, nil, "error_oauth_client", .badRequest) }
        guard let redirectURI = query["redirect_uri"], client.redirectURIs.contains(redirectURI) else {
            return errorPage(request, nil, "error_oauth_redirect", .badRequest)
        }
        func fail(_ code: String, _ description: String) -> Response {
            var parameters = [("error", code), ("error_description", description)]
            if let state = query["state"] { parameters.append(("state", state)) }
            return Response.redirect(to: Self.appending(parameters, to: redirectURI), type: .found)
        }
        guard query["response_type"] == "code" else { return fail("unsupported_response_type", "Only response_type=code is supported.") }
        guard let challenge = query["code_challenge"], query["code_challenge_method"] == "S256", challenge.count >= 43 else {
            return fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256.")
        }
        if let audience = query["aud"], audience.trimmingCharacters(in: CharacterSet(charactersIn: "/")) != identity.issuer + "/fhir" {
            return fail("invalid_request", "aud must be this server's FHIR base URL.")
        }
        let scope = identity.grantedScope(query["scope"] ?? "", client: client)
        guard !scope.isEmpty else { return fail("invalid_scope", "None of the requested scopes is registered for this client.") }
        return try await signedIn(request, context) { session in
            let code = try await identity.issueCode(
                client: client, account: session.account, redirectURI: redirectURI, scope: scope, codeChallenge: challenge, nonce: query["nonce"])
            var parameters = [("code", code)]
            if let state = query["state"] { parameters.append(("state", state)) }
            return Response.redirect(to: Self.appending(parameters, to: redirectURI), type: .found)
        }
    }

    /// Signs the browser out; returns to `post_logout_redirect_uri` when it is one of the
    /// client's registered redirect URIs.
    func endSession(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let query = Dictionary(QueryString.parse(request.uri.query ?? ""), uniquingKeysWith: { first, _ in first })
        if let cookie = request.cookies[Self.sessionCookie]?.value, let session = try await identity.webSession(cookie: cookie, tenant: tenant) {
            try await identity.signOut(cookie: cookie, session: session, address: context.remoteAddress)
        }
        var target = "/login"
        if let redirect = query["post_logout_redirect_uri"], let clientID = query["client_id"],
            let (client, _) = try await identity.client(clientID, tenant: tenant), client.redirectURIs.contains(redirect)
        {
            target = Self.appending(query["state"].map { [("state", $0)] } ?? [], to: redirect)
        }
        var response = Response.redirect(to: target, type: .found)
        response.setCookie(cookie(Self.sessionCookie, "", maxAge: 0))
        return response
    }

    static func appending(_ parameters: [(String, String)], to uri: String) -> String {
        guard !parameters.isEmpty else { return uri }
        return uri + (uri.contains("?") ? "&" : "?") + QueryString.encode(parameters)
    }
}
