import Core
import FHIR
import Foundation
import SQLKit
import Storage

/// Which history to list (FHIR R4 §3.1.0.9).
public enum HistoryScope: Sendable, Equatable {
    case instance(type: String, id: String)
    case type(String)
    case system
}

/// One entry of a history: a version and the interaction that made it.
public struct HistoryEntry: Sendable {
    public let resource: StoredResource
    /// POST, PUT, PATCH or DELETE.
    public let method: String
}

public struct HistoryResult: Sendable {
    public var entries: [HistoryEntry] = []
    public var total: Int?
    public var nextCursor: String?
}

extension FHIRStore {
    /// Versions newest first; `since` (epoch ms) keeps those written at or after it. Pages
    /// continue after (lastUpdated, version row) of the previous page's last entry.
    public func history(_ scope: HistoryScope, since: Int64?, count: Int, cursor: String?, as caller: Caller) async throws -> HistoryResult {
        let tenant = caller.tenant
        // A version is visible to whoever may see its resource as it is now.
        let visible = visibility(caller, on: "r")
        let from: SQLQueryString = caller.read.everything ? "fhir_versions v" : "fhir_versions v JOIN fhir_resources r ON r.rid = v.rid"
        return try await database.read { database in
            var filter: SQLQueryString = "v.tenant_id = \(bind: tenant.rawValue)"
            var order = "v.last_updated DESC, v.vid DESC"
            switch scope {
            case .instance(let type, let id):
                let row = try await database.raw(
                    "SELECT r.rid FROM fhir_resources r WHERE r.tenant_id = \(bind: tenant.rawValue) AND r.resource_type = \(bind: type) AND r.id = \(bind: id)"
                        + visible
                ).first()
                guard let rid = try row?.decode(column: "rid", as: Int64.self) else {
                    throw FHIRError.notFound("\(type)/\(id) does not exist.")
                }
                // The row id alone selects a resource's versions (see loadCurrent), newest first.
                filter = "v.rid = \(bind: rid)"
                order = "v.version DESC"
            case .type(let type):
                filter += " AND v.resource_type = \(bind: type)" + visible
            case .system:
                filter += visible
            }
            if let since { filter += " AND v.last_updated >= \(bind: since)" }
            var result = HistoryResult()
            let total = try await database.raw("SELECT COUNT(*) AS total FROM \(from) WHERE \(filter)").first()
            result.total = try total?.decode(column: "total", as: Int.self)
            var page = filter
            if let cursor {
                let position = try Self.decodeHistoryCursor(cursor)
                page += " AND (v.last_updated < \(bind: position.lastUpdated) OR (v.last_updated = \(bind: position.lastUpdated) AND v.vid < \(bind: position.vid)))"
            }
            let rows = try await database.raw(
                """
                SELECT v.vid, v.rid, v.resource_type, v.id, v.version, v.last_updated, v.deleted, v.method, v.key_id, v.body
                FROM \(from) WHERE \(page) ORDER BY \(unsafeRaw: order) LIMIT \(literal: count + 1)
                """
            ).all()
            let pageRows = Array(rows.prefix(count))
            let resources = try await decode(pageRows, tenant: tenant)
            for (row, resource) in zip(pageRows, resources) {
                result.entries.append(HistoryEntry(resource: resource, method: try row.decode(column: "method", as: String.self)))
            }
            if rows.count > count, let last = pageRows.last {
                result.nextCursor = Self.encodeHistoryCursor(
                    lastUpdated: try last.decode(column: "last_updated", as: Int64.self), vid: try last.decode(column: "vid", as: Int64.self))
            }
            return result
        }
    }

    static func encodeHistoryCursor(lastUpdated: Int64, vid: Int64) -> String {
        "\(lastUpdated).\(vid)"
    }

    static func decodeHistoryCursor(_ text: String) throws(FHIRError) -> (lastUpdated: Int64, vid: Int64) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let lastUpdated = Int64(parts[0]), let vid = Int64(parts[1]) else {
            throw .invalid("The history paging cursor is not valid; start again from the first page.")
        }
        return (lastUpdated, vid)
    }
}
