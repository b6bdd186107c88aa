import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Testing

@testable import HygieServer

/// The OpenAPI document lists exactly the routes of `/api/v1`, and the docs page shows them.
@Suite struct OpenAPITests {
    @Test func theDocumentListsExactlyTheRoutesOfTheAPI() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let router = try await makeRouter(
                platform: platforms[0], configuration: configuration, environment: HygieEnvironment(), logger: Logger(label: "test"))
            let served = Set(
                router.routes.map { "\($0.method.rawValue) \($0.path.description)" }.filter { $0.contains(" /api/v1/") && !$0.hasSuffix("openapi.json") }
                    .map { $0.replacingOccurrences(of: "/api/v1", with: "").replacingOccurrences(of: ":id", with: "{id}") })
            let document = try #require(try JSONSerialization.jsonObject(with: Data(try OpenAPIController.load())) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
            #expect(served == documented, "served but not documented: \(served.subtracting(documented)); documented but not served: \(documented.subtracting(served))")
        }
    }

    @Test func theDocsPageAndDocumentAreServed() async throws {
        try await withTestApp(systemClient: false) { http in
            let document = try await http.get("/api/v1/openapi.json")
            #expect(document.status == 200)
            #expect(document.json["info"]?["title"]?.stringValue == "Hygie API")
            let page = try await http.get("/api/docs", headers: ["Accept-Language": "en"])
            #expect(page.status == 200)
            #expect(page.text.contains("API documentation"))
            #expect(page.text.contains("/api/v1/auth/login"))
        }
    }
}
