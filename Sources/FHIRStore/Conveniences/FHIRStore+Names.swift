import Core
import FHIR

extension FHIRStore {
    /// Display names ("Given Family") of Practitioners or Patients by id, for lists that
    /// services build after their own access checks (read as the server, not audited).
    public func displayNames(_ type: String, ids: [String], tenant: TenantID) async throws -> [String: String] {
        let unique = Array(Set(ids)).sorted()
        guard !unique.isEmpty else { return [:] }
        var names: [String: String] = [:]
        for chunk in unique.chunks(of: 200) {
            var query = try SearchQuery.parse(resourceType: type, parameters: [("_id", chunk.joined(separator: ",")), ("_count", "1000")])
            query.total = TotalMode.none
            for match in try await search(query, as: .system(tenant)).matches {
                names[match.id] = Self.displayName(try match.json())
            }
        }
        return names
    }

    /// "Given Family" of the first HumanName of a Patient or Practitioner.
    public static func displayName(_ json: JSON) -> String {
        let name = json["name"]?.arrayValue?.first
        let given = name?["given"]?.arrayValue?.compactMap(\.stringValue).joined(separator: " ") ?? ""
        return [given, name?["family"]?.stringValue ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Every match of a search run as the server (all pages, up to `limit`).
    public func searchAll(_ type: String, _ parameters: [(String, String)], tenant: TenantID, limit: Int = 10_000) async throws -> [StoredResource] {
        try await searchAll(type, parameters, caller: .system(tenant), limit: limit)
    }

    /// Every match `caller` may see, following the pages.
    public func searchAll(_ type: String, _ parameters: [(String, String)], caller: Caller, limit: Int = 10_000) async throws -> [StoredResource] {
        var query = try SearchQuery.parse(resourceType: type, parameters: parameters + [("_count", "1000")])
        query.total = TotalMode.none
        var found: [StoredResource] = []
        while true {
            let page = try await search(query, as: caller)
            found += page.matches
            guard let next = page.nextCursor, found.count < limit else { return found }
            query.cursor = next
        }
    }
}
