import Storage

/// Scheduling's tables. Appointments, schedules and slots are FHIR resources; these tables
/// hold what they cannot: the opening-hours settings slots are planned from, and the holds
/// that let exactly one request take a slot (a unique index, checked by the database).
public enum SchedulingMigrations {
    public static let all: [Migration] = [availability]

    static let availability = Migration(
        id: 300, name: "availability settings and slot holds",
        up: { ddl in
            [
                """
                CREATE TABLE scheduling_availability (
                    tenant_id TEXT NOT NULL, practitioner_id TEXT NOT NULL, schedule_id TEXT NOT NULL, settings TEXT NOT NULL,
                    generated_until \(ddl.bigint) NOT NULL, updated_at \(ddl.bigint) NOT NULL, PRIMARY KEY (tenant_id, practitioner_id))
                """,
                """
                CREATE TABLE scheduling_holds (
                    tenant_id TEXT NOT NULL, appointment_id TEXT NOT NULL, slot_id TEXT NOT NULL, practitioner_id TEXT NOT NULL,
                    patient_id TEXT NOT NULL, starts_at \(ddl.bigint) NOT NULL, ends_at \(ddl.bigint) NOT NULL,
                    PRIMARY KEY (tenant_id, appointment_id))
                """,
                "CREATE UNIQUE INDEX scheduling_holds_slot ON scheduling_holds (tenant_id, slot_id)",
                "CREATE INDEX scheduling_holds_patient ON scheduling_holds (tenant_id, patient_id, starts_at)",
                "CREATE INDEX scheduling_holds_practitioner ON scheduling_holds (tenant_id, practitioner_id, starts_at)",
            ]
        },
        down: { _ in ["DROP TABLE scheduling_holds", "DROP TABLE scheduling_availability"] })
}
