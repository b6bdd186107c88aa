import Core
import FHIR

/// Builds the Bundles the FHIR API answers with (FHIR R4 Bundle; §3.1.1.6 paging,
/// §3.1.0.9 history, §3.1.0.11 batch and transaction responses).
struct BundleBuilder {
    let baseURL: String
    let timestamp: Int64
    let id: String

    func link(_ relation: String, path: String, parameters: [(String, String)]) -> JSON {
        let query = QueryString.encode(parameters)
        let url = baseURL + (path.isEmpty ? "" : "/" + path) + (query.isEmpty ? "" : "?" + query)
        return ["relation": .string(relation), "url": .string(url)]
    }

    func shell(type: String, total: Int?, links: [JSON], entries: [JSON]) -> JSON {
        var bundle = JSONObject()
        bundle["resourceType"] = "Bundle"
        bundle["id"] = .string(id)
        bundle["meta"] = ["lastUpdated": .string(FHIRDateTime.instantString(epochMillis: timestamp))]
        bundle["type"] = .string(type)
        if let total { bundle["total"] = .number(JSONNumber(total)) }
        if !links.isEmpty { bundle["link"] = .array(links) }
        if !entries.isEmpty { bundle["entry"] = .array(entries) }
        return .object(bundle)
    }

    func fullURL(_ resource: StoredResource) -> JSON {
        .string("\(baseURL)/\(resource.type)/\(resource.id)")
    }

    /// The body of a stored resource, reduced when `_summary` / `_elements` ask for it.
    static func view(of resource: StoredResource, summary: SummaryMode?, elements: [String]?) throws -> JSON {
        if let elements { return ResourceView.elements(try resource.json(), keep: elements) }
        if let summary, summary != .false { return ResourceView.summary(try resource.json(), mode: summary) }
        return .raw(RawJSON(resource.body))
    }

    func searchset(_ result: SearchResult, path: String, parameters: [(String, String)], summary: SummaryMode?, elements: [String]?) throws -> JSON {
        var links = [link("self", path: path, parameters: parameters)]
        if let next = result.nextCursor {
            links.append(link("next", path: path, parameters: parameters + [("_cursor", next)]))
        }
        var entries: [JSON] = []
        for resource in result.matches {
            entries.append(["fullUrl": fullURL(resource), "resource": try Self.view(of: resource, summary: summary, elements: elements), "search": ["mode": "match"]])
        }
        for resource in result.included {
            entries.append(["fullUrl": fullURL(resource), "resource": try Self.view(of: resource, summary: summary, elements: elements), "search": ["mode": "include"]])
        }
        if !result.warnings.isEmpty {
            entries.append(["resource": OperationOutcome.resource(result.warnings), "search": ["mode": "outcome"]])
        }
        return shell(type: "searchset", total: result.total, links: links, entries: entries)
    }

    func history(_ result: HistoryResult, path: String, parameters: [(String, String)]) -> JSON {
        var links = [link("self", path: path, parameters: parameters)]
        if let next = result.nextCursor {
            links.append(link("next", path: path, parameters: parameters + [("_cursor", next)]))
        }
        let entries: [JSON] = result.entries.map { entry in
            let resource = entry.resource
            var object = JSONObject()
            object["fullUrl"] = fullURL(resource)
            if !resource.isDeleted { object["resource"] = .raw(RawJSON(resource.body)) }
            let url = entry.method == "POST" ? resource.type : resource.reference
            object["request"] = ["method": .string(entry.method), "url": .string(url)]
            let status = entry.method == "POST" ? "201 Created" : resource.isDeleted ? "204 No Content" : "200 OK"
            object["response"] = [
                "status": .string(status), "etag": .string(resource.etag),
                "lastModified": .string(FHIRDateTime.instantString(epochMillis: resource.lastUpdated)),
            ]
            return .object(object)
        }
        return shell(type: "history", total: result.total, links: links, entries: entries)
    }

    /// `Bundle.entry.response` for a batch or transaction entry.
    static func response(_ response: FHIRResponse) -> JSON {
        var object = JSONObject()
        object["status"] = .string(statusLine(response.status))
        if let location = response.location { object["location"] = .string(location) }
        if let etag = response.etag { object["etag"] = .string(etag) }
        if let lastModified = response.lastModified {
            object["lastModified"] = .string(FHIRDateTime.instantString(epochMillis: lastModified))
        }
        if !response.outcome.isEmpty, response.status >= 400 {
            object["outcome"] = OperationOutcome.resource(response.outcome)
        }
        return .object(object)
    }

    static func statusLine(_ status: Int) -> String {
        let reasons = [
            200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 412: "Precondition Failed", 422: "Unprocessable Entity",
            500: "Internal Server Error",
        ]
        return reasons[status].map { "\(status) \($0)" } ?? String(status)
    }
}
