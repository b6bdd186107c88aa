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
        case "refresh_token":
            guard let token = form["refresh_token"] else { return Self.error("invalid_request", "refresh_token is missing.", status: 400) }
            let pair = try await identity.refresh(token, tenant: tenant)
            return Self.json([
                "access_token": pair.accessToken, "token_type": "Bearer", "expires_in": pair.expiresIn, "refresh_token": pair.refreshToken,
            ])
        case nil:
            return Self.error("invalid_request", "grant_type is missing.", status: 400)
        case let other?:
            return Self.error("unsupported_grant_type", "The grant type \(other) is not supported here.", status: 400)
        }
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
