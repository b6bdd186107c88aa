import Storage

/// Pathways' tables. Cases, checklists, validations, sessions, machines and QA results are
/// FHIR resources; these hold the configuration they are checked against: every version of
/// every pathway definition, and each machine's QA test lists.
public enum PathwaysMigrations {
    public static let all: [Migration] = [definitions, sessionNumbers]

    static let definitions = Migration(
        id: 500, name: "pathway definitions and machine QA lists",
        up: { ddl in
            [
                """
                CREATE TABLE pathway_definitions (
                    tenant_id TEXT NOT NULL, pathway TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
                    created_at \(ddl.bigint) NOT NULL, created_by TEXT NOT NULL, PRIMARY KEY (tenant_id, pathway, version))
                """,
                """
                CREATE TABLE machine_qa_lists (
                    tenant_id TEXT NOT NULL, device_id TEXT NOT NULL, frequency TEXT NOT NULL, body TEXT NOT NULL,
                    updated_at \(ddl.bigint) NOT NULL, PRIMARY KEY (tenant_id, device_id, frequency))
                """,
            ]
        },
        down: { _ in ["DROP TABLE machine_qa_lists", "DROP TABLE pathway_definitions"] })

    /// One row per recorded treatment session, numbered within its case: two technologists
    /// recording "the next session" at once both claim the same number, and the second is
    /// refused instead of running past the planned count.
    static let sessionNumbers = Migration(
        id: 501, name: "treatment session numbers",
        up: { _ in
            [
                """
                CREATE TABLE pathway_session_numbers (
                    tenant_id TEXT NOT NULL, case_id TEXT NOT NULL, number INTEGER NOT NULL, procedure_id TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, case_id, number))
                """
            ]
        },
        down: { _ in ["DROP TABLE pathway_session_numbers"] })
}
