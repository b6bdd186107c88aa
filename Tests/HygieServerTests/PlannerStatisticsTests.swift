import Core
import FHIR
import FHIRStore
import HygieServer
import SQLKit
import Storage
import Testing

@Suite struct PlannerStatisticsTests {
    @Test(.enabled(if: TestDatabase.isPostgres))
    func postgresTablesAreAnalysedAfterABulkLoad() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            var entries: [JSON] = []
            for index in 0..<2100 {
                entries.append(["resource": ["resourceType": "Patient", "name": [["family": .string("Bulk\(index)")]]], "request": ["method": "POST", "url": "Patient"]])
            }
            _ = try await platform.fhir.process(
                bundle: ["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)], as: .system(configuration.defaultTenant), preference: .minimal)
            let analysed = try await platform.store.read { database in
                try await database.raw(
                    "SELECT COUNT(*) AS n FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'fhir_idx_string' AND last_analyze IS NOT NULL"
                ).first()!.decode(column: "n", as: Int.self)
            }
            #expect(analysed == 1)
        }
    }
}
