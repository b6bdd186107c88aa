import Storage

/// Pathways' tables. Cases, checklists, validations, sessions, machines and QA results are
/// FHIR resources; these hold the configuration they are checked against: every version of
/// every pathway definition, and each machine's QA test lists.
public enum PathwaysMigrations {
    public static let all: [Migration] = [definitions]

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
}
