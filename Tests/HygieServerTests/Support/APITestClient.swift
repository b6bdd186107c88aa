import FHIR
import HTTPTypes
import Testing

/// The password test accounts choose at first sign-in.
enum TestPassword {
    static let standard = "Un-mot-de-passe-2026"
}

/// Talks to `/api/v1` as a signed-in account.
struct APITestClient {
    let http: FHIRTestClient

    /// Requests carry only the token each call names.
    init(http: FHIRTestClient) {
        var anonymous = http
        anonymous.token = nil
        self.http = anonymous
    }

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ path: String, _ body: JSON? = nil, token: String? = nil) async throws -> FHIRTestResponse {
        var headers = ["Accept": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await http.send(method, path, json: body, contentType: "application/json", headers: headers)
    }

    func login(_ username: String, _ password: String) async throws -> FHIRTestResponse {
        try await call(.post, "/api/v1/auth/login", ["username": .string(username), "password": .string(password)])
    }

    /// Signs in with the default password, chooses `password`, and returns the token, which
    /// from then on works everywhere the role allows.
    func firstSignIn(_ username: String, password: String = TestPassword.standard, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let first = try await login(username, "mediconnect")
        #expect(first.status == 200, "first sign-in of \(username): \(first.text)", sourceLocation: sourceLocation)
        let token = first.json["access_token"]?.stringValue ?? ""
        let change = try await call(
            .post, "/api/v1/auth/password", ["current_password": "mediconnect", "new_password": .string(password)], token: token)
        #expect(change.status == 204, "password change of \(username): \(change.text)", sourceLocation: sourceLocation)
        return token
    }

    /// Creates an account through `path` and returns its JSON view.
    @discardableResult
    func create(_ path: String, _ body: JSON, token: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSON {
        let response = try await call(.post, path, body, token: token)
        #expect(response.status == 201, "POST \(path): \(response.text)", sourceLocation: sourceLocation)
        return response.json
    }
}

/// A deployment with two hospitals, an admin for each, and signed-in tokens, built through
/// the API as a super admin would.
struct TwoHospitals {
    let api: APITestClient
    let superAdmin: String
    let hospitalA: String
    let hospitalB: String
    let adminA: String
    let adminB: String

    static func make(_ http: FHIRTestClient) async throws -> TwoHospitals {
        let api = APITestClient(http: http)
        let root = try #require(http.superAdminToken, "TwoHospitals needs withTestApp's signed-in super admin")
        let a = try await api.create("/api/v1/admin/hospitals", ["name": "Hôpital A"], token: root)["id"]?.stringValue ?? ""
        let b = try await api.create("/api/v1/admin/hospitals", ["name": "Hôpital B"], token: root)["id"]?.stringValue ?? ""
        try await api.create("/api/v1/admin/hospital-admins", ["username": "admin.a", "family": "Admin", "hospital": .string(a)], token: root)
        try await api.create("/api/v1/admin/hospital-admins", ["username": "admin.b", "family": "Admin", "hospital": .string(b)], token: root)
        return TwoHospitals(
            api: api, superAdmin: root, hospitalA: a, hospitalB: b, adminA: try await api.firstSignIn("admin.a"),
            adminB: try await api.firstSignIn("admin.b"))
    }

    /// Creates a staff member at the admin's hospital and returns (account view, token).
    func staff(_ username: String, role: String, by admin: String) async throws -> (JSON, String) {
        let view = try await api.create("/api/v1/staff", ["username": .string(username), "family": "Soignant", "role": .string(role)], token: admin)
        return (view, try await api.firstSignIn(username))
    }
}
