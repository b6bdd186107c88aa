import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HygieServer
import Mail
import NIOCore
import Testing

/// A FHIR response as tests look at it.
struct FHIRTestResponse {
    let status: Int
    let headers: HTTPFields
    let body: [UInt8]

    var json: JSON {
        (try? JSONParser.parse(body)) ?? .null
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }

    /// Resources of the matching entries of a searchset Bundle.
    var matches: [JSON] {
        (json["entry"]?.arrayValue ?? []).filter { $0["search"]?["mode"]?.stringValue == "match" }.compactMap { $0["resource"] }
    }

    var matchIDs: [String] { matches.compactMap { $0["id"]?.stringValue } }

    var total: Int? { json["total"]?.numberValue?.intValue }

    var issueCodes: [String] {
        (json["issue"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
    }

    var diagnostics: String {
        (json["issue"]?.arrayValue ?? []).compactMap { $0["diagnostics"]?.stringValue }.joined(separator: " | ")
    }
}

/// Talks FHIR JSON to an application under test.
struct FHIRTestClient {
    let client: any TestClientProtocol
    /// Sent as the Bearer token unless a request names its own Authorization: by default a
    /// backend client registered with `system/*.*` (see `withTestApp`).
    var token: String? = nil
    /// A token of the first super admin, whose password the harness changed to
    /// `TestPassword.standard`.
    var superAdminToken: String? = nil
    /// The backend client's id and secret, to ask for a new token.
    var clientCredentials: (id: String, secret: String)? = nil

    /// The same client with a fresh access token: tokens live one hour, and some tests move
    /// their clock further than that.
    func renewed(sourceLocation: SourceLocation = #_sourceLocation) async throws -> FHIRTestClient {
        guard let (id, secret) = clientCredentials else { return self }
        let form = "grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)"
        let issued = try await send(.post, "/oauth2/token", body: form, contentType: "application/x-www-form-urlencoded")
        #expect(issued.status == 200, "client credentials: \(issued.text)", sourceLocation: sourceLocation)
        var copy = self
        copy.token = issued.json["access_token"]?.stringValue
        return copy
    }

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ path: String, body: String? = nil, json: JSON? = nil,
        contentType: String? = "application/fhir+json", headers extra: [String: String] = [:]
    ) async throws -> FHIRTestResponse {
        var headers = HTTPFields()
        headers[.accept] = "application/fhir+json"
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: JSONWriter.bytes(json))
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        if buffer != nil, let contentType { headers[.contentType] = contentType }
        if let token, extra["Authorization"] == nil { headers[.authorization] = "Bearer \(token)" }
        for (name, value) in extra {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: buffer)
        return FHIRTestResponse(status: Int(response.status.code), headers: response.headers, body: Array(response.body.readableBytesView))
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> FHIRTestResponse {
        try await send(.get, path, headers: headers)
    }

    /// Creates a resource and returns its id, failing the test if the server refuses it.
    @discardableResult
    func create(_ resource: JSON, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let type = resource["resourceType"]?.stringValue ?? "Unknown"
        let response = try await send(.post, "/fhir/\(type)", json: resource)
        #expect(response.status == 201, "create \(type): \(response.text)", sourceLocation: sourceLocation)
        return response.json["id"]?.stringValue ?? ""
    }

    func search(_ query: String) async throws -> FHIRTestResponse {
        let response = try await get("/fhir/\(query)")
        #expect(response.status == 200, "search \(query): \(response.text)")
        return response
    }
}

/// Builds the real application on a fresh database, runs `body` against it, and removes the
/// database afterwards.
///
/// With `systemClient` (the default), the harness signs in as the first super admin, chooses
/// its password, registers a backend client with `system/*.*` and sends that client's token
/// with every request: the FHIR conformance tests run as a real, authorised caller.
func withTestApp(
    clock: (any WallClock)? = nil, mailer: (any Mailer)? = nil, systemClient: Bool = true, configure: (inout HygieConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (FHIRTestClient) async throws -> Void
) async throws {
    let database = try await TestDatabase.make()
    var configuration = database.configuration()
    configure(&configuration)
    do {
        let app = try await buildApplication(configuration, environment: HygieEnvironment(clock: clock ?? SystemWallClock(), mailer: mailer))
        try await app.test(.router) { client in
            var http = FHIRTestClient(client: client)
            if systemClient {
                let api = APITestClient(http: http)
                let root = try await api.firstSignIn("superadmin")
                let registered = try await api.create(
                    "/api/v1/admin/oauth-clients", ["name": "test harness", "grant_types": ["client_credentials"], "scope": "system/*.*"], token: root)
                http.clientCredentials = (registered["client_id"]?.stringValue ?? "", registered["client_secret"]?.stringValue ?? "")
                http = try await http.renewed()
                http.superAdminToken = root
            }
            try await body(http)
        }
    } catch {
        await database.drop()
        throw error
    }
    await database.drop()
}

/// Small resource builders.
enum Fixture {
    static func patient(family: String, given: String = "Jean", birthDate: String? = "1970-01-01", gender: String = "male", identifier: (String, String)? = nil) -> JSON {
        var object = JSONObject()
        object["resourceType"] = "Patient"
        object["name"] = [["family": .string(family), "given": [.string(given)]]]
        object["gender"] = .string(gender)
        if let birthDate { object["birthDate"] = .string(birthDate) }
        if let identifier { object["identifier"] = [["system": .string(identifier.0), "value": .string(identifier.1)]] }
        return .object(object)
    }

    static func observation(patient: String, code: String = "8867-4", value: String = "72", unit: String = "/min", date: String = "2024-03-01T10:00:00Z") -> JSON {
        [
            "resourceType": "Observation", "status": "final",
            "code": ["coding": [["system": "http://loinc.org", "code": .string(code)]]],
            "subject": ["reference": .string("Patient/\(patient)")],
            "effectiveDateTime": .string(date),
            "valueQuantity": ["value": .number(JSONNumber(text: value)), "unit": .string(unit), "system": "http://unitsofmeasure.org", "code": .string(unit)],
        ]
    }
}
