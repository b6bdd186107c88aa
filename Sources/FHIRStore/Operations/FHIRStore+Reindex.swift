import Core
import FHIR
import SQLKit
import Storage

extension FHIRStore {
    /// Rebuilds the search index of every live resource (after search parameter definitions
    /// change), in batches, each in its own transaction. Returns the number reindexed.
    @discardableResult
    public func reindex(batchSize: Int = 500, progress: (@Sendable (Int) -> Void)? = nil) async throws -> Int {
        var after: Int64 = 0
        var done = 0
        let allTables = IndexTable.allCases.reduce(0) { $0 | $1.bit }
        while true {
            let batch = try await database.read { database in
                try await database.raw(
                    "SELECT rid, tenant_id FROM fhir_resources WHERE rid > \(bind: after) AND deleted = \(bind: false) ORDER BY rid LIMIT \(literal: batchSize)"
                ).all().map { (try $0.decode(column: "rid", as: Int64.self), TenantID(try $0.decode(column: "tenant_id", as: String.self))) }
            }
            guard let last = batch.last else { break }
            after = last.0
            for (tenant, rows) in Dictionary(grouping: batch, by: \.1) {
                try await write(as: .system(tenant)) { context in
                    let resources = try await loadCurrent(rows.map(\.0), tenant: tenant, on: context.database)
                    var items: [(rid: Int64, write: PreparedWrite)] = []
                    for resource in resources {
                        let write = prepare(try resource.json(), type: resource.type, id: resource.id, version: resource.version, lastUpdated: resource.lastUpdated)
                        try await clearIndex(rid: resource.rid, tables: allTables, on: context.database)
                        try await context.database.raw(
                            "UPDATE fhir_resources SET index_tables = \(bind: write.indexTables) WHERE rid = \(bind: resource.rid)"
                        ).run()
                        items.append((resource.rid, write))
                    }
                    try await writeIndex(items, on: context.database)
                }
            }
            done += batch.count
            progress?(done)
        }
        return done
    }
}
