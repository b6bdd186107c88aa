import Foundation
import Hummingbird
import NIOCore

/// `/api/v1/openapi.json` (OpenAPI 3.1, kept by hand next to the routes; a test checks that
/// it lists exactly the routes of `/api/v1`) and `/api/docs`, a readable page made from it.
struct OpenAPIController: Sendable {
    let document: [UInt8]
    let renderer: WebRenderer

    static func load() throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: "OpenAPI/openapi", withExtension: "json") else { throw HTTPError(.internalServerError) }
        return Array(try Data(contentsOf: url))
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/api/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        router.get("/api/docs") { request, _ in
            renderer.page("api-docs", title: "api_docs_title", context: docsContext(), language: WebRenderer.language(request))
        }
    }

    /// Operations grouped by tag, in the document's order.
    func docsContext() -> [String: Any] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(document)) as? [String: Any], let paths = root["paths"] as? [String: [String: Any]] else {
            return [:]
        }
        var tags: [String] = []
        var operations: [String: [[String: Any]]] = [:]
        for path in paths.keys.sorted() {
            for (method, value) in (paths[path] ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let operation = value as? [String: Any] else { continue }
                let tag = (operation["tags"] as? [String])?.first ?? "api"
                if !tags.contains(tag) { tags.append(tag) }
                let responses = (operation["responses"] as? [String: Any]).map { $0.keys.sorted().joined(separator: ", ") } ?? ""
                operations[tag, default: []].append([
                    "method": method.uppercased(), "path": path, "summary": operation["summary"] as? String ?? "", "responses": responses,
                    "public": (operation["security"] as? [Any])?.isEmpty == true,
                ])
            }
        }
        return [
            "description": (root["info"] as? [String: Any])?["description"] as? String ?? "",
            "tags": tags.map { ["name": $0, "operations": operations[$0] ?? []] as [String: Any] },
        ]
    }
}
