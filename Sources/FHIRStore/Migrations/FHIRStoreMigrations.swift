import SQLKit
import Storage

/// The FHIR store's tables (DESIGN §3): one row per resource with its current version, one
/// row per version with the sealed body, one index table per search-parameter type, and the
/// patient compartments each resource belongs to.
///
/// Index rows exist only for current, non-deleted versions; they carry the resource row id
/// (`rid`) and a parameter key (`pid`, from `fhir_search_params`) instead of repeating type
/// and parameter names. Each index table has one index to start a search from a value
/// (`pid, value…, rid`) and one to check the values of a given resource (`rid, pid, value…`).
/// Both cover the values conditions test: a planner that finds the per-resource index
/// covering prefers it to scanning the whole parameter in the value index.
public enum FHIRStoreMigrations {
    public static let all: [Migration] = [resources, searchIndex, planner, AuditTrail.migration]

    static let resources = Migration(
        id: 100, name: "fhir resources and versions",
        up: { ddl in
            [
                """
                CREATE TABLE fhir_resources (
                    rid \(ddl.autoIncrementKey),
                    tenant_id TEXT NOT NULL,
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    last_updated \(ddl.bigint) NOT NULL,
                    deleted \(ddl.boolean) NOT NULL,
                    index_tables INTEGER NOT NULL DEFAULT 0)
                """,
                "CREATE UNIQUE INDEX fhir_resources_identity ON fhir_resources (tenant_id, resource_type, id)",
                "CREATE INDEX fhir_resources_type_rid ON fhir_resources (tenant_id, resource_type, deleted, rid)",
                "CREATE INDEX fhir_resources_updated ON fhir_resources (tenant_id, resource_type, last_updated)",
                """
                CREATE TABLE fhir_versions (
                    vid \(ddl.autoIncrementKey),
                    rid \(ddl.bigint) NOT NULL REFERENCES fhir_resources (rid),
                    tenant_id TEXT NOT NULL,
                    resource_type TEXT NOT NULL,
                    id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    last_updated \(ddl.bigint) NOT NULL,
                    method TEXT NOT NULL,
                    deleted \(ddl.boolean) NOT NULL,
                    key_id TEXT,
                    body \(ddl.blob))
                """,
                "CREATE UNIQUE INDEX fhir_versions_version ON fhir_versions (rid, version)",
                "CREATE INDEX fhir_versions_system_history ON fhir_versions (tenant_id, last_updated, vid)",
                "CREATE INDEX fhir_versions_type_history ON fhir_versions (tenant_id, resource_type, last_updated, vid)",
            ]
        },
        down: { _ in ["DROP TABLE fhir_versions", "DROP TABLE fhir_resources"] })

    static let searchIndex = Migration(
        id: 101, name: "fhir search index",
        up: { ddl in
            [
                "CREATE TABLE fhir_search_params (pid \(ddl.autoIncrementKey), resource_type TEXT NOT NULL, code TEXT NOT NULL)",
                "CREATE UNIQUE INDEX fhir_search_params_name ON fhir_search_params (resource_type, code)",

                "CREATE TABLE fhir_idx_string (rid \(ddl.bigint) NOT NULL, pid INTEGER NOT NULL, value \(ddl.binaryText) NOT NULL, exact TEXT NOT NULL)",
                "CREATE INDEX fhir_idx_string_value ON fhir_idx_string (pid, value, rid)",
                "CREATE INDEX fhir_idx_string_rid ON fhir_idx_string (rid, pid, value)",

                "CREATE TABLE fhir_idx_token (rid \(ddl.bigint) NOT NULL, pid INTEGER NOT NULL, system TEXT, code TEXT, text \(ddl.binaryText))",
                "CREATE INDEX fhir_idx_token_code ON fhir_idx_token (pid, code, system, rid)",
                "CREATE INDEX fhir_idx_token_rid ON fhir_idx_token (rid, pid, code, system)",

                "CREATE TABLE fhir_idx_date (rid \(ddl.bigint) NOT NULL, pid INTEGER NOT NULL, low \(ddl.bigint) NOT NULL, high \(ddl.bigint) NOT NULL)",
                "CREATE INDEX fhir_idx_date_low ON fhir_idx_date (pid, low, high, rid)",
                "CREATE INDEX fhir_idx_date_high ON fhir_idx_date (pid, high, low, rid)",
                "CREATE INDEX fhir_idx_date_rid ON fhir_idx_date (rid, pid, low, high)",

                """
                CREATE TABLE fhir_idx_reference (
                    rid \(ddl.bigint) NOT NULL, pid INTEGER NOT NULL, target_type TEXT, target_id TEXT, url \(ddl.binaryText))
                """,
                "CREATE INDEX fhir_idx_reference_target ON fhir_idx_reference (pid, target_id, target_type, rid)",
                "CREATE INDEX fhir_idx_reference_url ON fhir_idx_reference (pid, url, rid)",
                "CREATE INDEX fhir_idx_reference_rid ON fhir_idx_reference (rid, pid, target_id, target_type)",
                "CREATE INDEX fhir_idx_reference_referrers ON fhir_idx_reference (target_id, target_type)",

                "CREATE TABLE fhir_idx_number (rid \(ddl.bigint) NOT NULL, pid INTEGER NOT NULL, value \(ddl.double) NOT NULL)",
                "CREATE INDEX fhir_idx_number_value ON fhir_idx_number (pid, value, rid)",
                "CREATE INDEX fhir_idx_number_rid ON fhir_idx_number (rid, pid, value)",

                """
                CREATE TABLE fhir_idx_quantity (
                    rid \(ddl.bigint) NOT NULL, pid INTEGER NOT NULL, system TEXT, code TEXT, unit TEXT,
                    low \(ddl.double), high \(ddl.double))
                """,
                "CREATE INDEX fhir_idx_quantity_value ON fhir_idx_quantity (pid, low, high, rid)",
                "CREATE INDEX fhir_idx_quantity_rid ON fhir_idx_quantity (rid, pid, low, high, code, system)",

                "CREATE TABLE fhir_idx_uri (rid \(ddl.bigint) NOT NULL, pid INTEGER NOT NULL, value \(ddl.binaryText) NOT NULL)",
                "CREATE INDEX fhir_idx_uri_value ON fhir_idx_uri (pid, value, rid)",
                "CREATE INDEX fhir_idx_uri_rid ON fhir_idx_uri (rid, pid, value)",

                "CREATE TABLE fhir_compartments (rid \(ddl.bigint) NOT NULL, compartment_type TEXT NOT NULL, compartment_id TEXT NOT NULL)",
                "CREATE INDEX fhir_compartments_member ON fhir_compartments (compartment_type, compartment_id, rid)",
                "CREATE INDEX fhir_compartments_rid ON fhir_compartments (rid)",
            ]
        },
        down: { _ in
            [
                "DROP TABLE fhir_compartments", "DROP TABLE fhir_idx_uri", "DROP TABLE fhir_idx_quantity",
                "DROP TABLE fhir_idx_number", "DROP TABLE fhir_idx_reference", "DROP TABLE fhir_idx_date",
                "DROP TABLE fhir_idx_token", "DROP TABLE fhir_idx_string", "DROP TABLE fhir_search_params",
            ]
        })
}

extension FHIRStoreMigrations {
    /// PostgreSQL re-analyses the FHIR tables after 5% growth instead of 10%: they grow fast
    /// and the planner's choices depend on their size (see StatisticsKeeper).
    static let planner = Migration(
        id: 102, name: "planner statistics on PostgreSQL",
        up: { database, ddl in
            guard ddl.dialect == .postgres else { return }
            for table in StatisticsKeeper.tables {
                try await database.raw("ALTER TABLE \(unsafeRaw: table) SET (autovacuum_analyze_scale_factor = 0.05, autovacuum_analyze_threshold = 1000)").run()
            }
        },
        down: { database, ddl in
            guard ddl.dialect == .postgres else { return }
            for table in StatisticsKeeper.tables {
                try await database.raw("ALTER TABLE \(unsafeRaw: table) RESET (autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)").run()
            }
        })
}

/// The index tables, with the bit each sets in `fhir_resources.index_tables` so that an
/// update only clears the tables a resource actually has rows in.
enum IndexTable: Int, CaseIterable, Sendable {
    case string, token, date, reference, number, quantity, uri, compartments

    var name: String {
        switch self {
        case .string: "fhir_idx_string"
        case .token: "fhir_idx_token"
        case .date: "fhir_idx_date"
        case .reference: "fhir_idx_reference"
        case .number: "fhir_idx_number"
        case .quantity: "fhir_idx_quantity"
        case .uri: "fhir_idx_uri"
        case .compartments: "fhir_compartments"
        }
    }

    var bit: Int { 1 << rawValue }

    static func tables(in mask: Int) -> [IndexTable] {
        allCases.filter { mask & $0.bit != 0 }
    }
}
