import Storage

/// The DICOM index (DESIGN §3: operational data in the module's own tables): one row per
/// study, series and instance with the attributes QIDO-RS matches and returns, written in the
/// same transaction that records the instance's blob. The instance's full attribute set is kept
/// sealed (encrypted) for `/metadata`; the clinical fact itself is the ImagingStudy resource.
public enum ImagingMigrations {
    public static let all: [Migration] = [index, viewerSessions, studySync, auditPending, unmatched, publishedDownloads, seriesDates, unflushed]

    static let index = Migration(
        id: 400, name: "DICOM study, series and instance index",
        up: { ddl in
            [
                """
                CREATE TABLE dicom_studies (
                    tenant_id TEXT NOT NULL, study_uid TEXT NOT NULL, patient_ref TEXT, imaging_study_id TEXT NOT NULL,
                    patient_id TEXT NOT NULL DEFAULT '', issuer TEXT NOT NULL DEFAULT '', patient_name TEXT NOT NULL DEFAULT '',
                    patient_name_key \(ddl.binaryText) NOT NULL DEFAULT '', patient_name_words \(ddl.binaryText) NOT NULL DEFAULT '',
                    birth_date TEXT NOT NULL DEFAULT '', sex TEXT NOT NULL DEFAULT '', study_date TEXT NOT NULL DEFAULT '',
                    study_time TEXT NOT NULL DEFAULT '', accession TEXT NOT NULL DEFAULT '', study_id TEXT NOT NULL DEFAULT '',
                    referring TEXT NOT NULL DEFAULT '', referring_key \(ddl.binaryText) NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
                    modalities TEXT NOT NULL DEFAULT '', series_count INTEGER NOT NULL DEFAULT 0, instance_count INTEGER NOT NULL DEFAULT 0,
                    created_at \(ddl.bigint) NOT NULL, updated_at \(ddl.bigint) NOT NULL, deleted_at \(ddl.bigint),
                    PRIMARY KEY (tenant_id, study_uid))
                """,
                "CREATE INDEX dicom_studies_date ON dicom_studies (tenant_id, study_date, study_uid)",
                "CREATE INDEX dicom_studies_patient ON dicom_studies (tenant_id, patient_ref)",
                "CREATE INDEX dicom_studies_patient_id ON dicom_studies (tenant_id, patient_id)",
                "CREATE INDEX dicom_studies_name ON dicom_studies (tenant_id, patient_name_key)",
                "CREATE INDEX dicom_studies_accession ON dicom_studies (tenant_id, accession)",
                """
                CREATE TABLE dicom_series (
                    tenant_id TEXT NOT NULL, series_uid TEXT NOT NULL, study_uid TEXT NOT NULL, modality TEXT NOT NULL DEFAULT '',
                    series_number INTEGER, description TEXT NOT NULL DEFAULT '', body_part TEXT NOT NULL DEFAULT '',
                    performed_date TEXT NOT NULL DEFAULT '', performed_time TEXT NOT NULL DEFAULT '',
                    instance_count INTEGER NOT NULL DEFAULT 0, created_at \(ddl.bigint) NOT NULL, deleted_at \(ddl.bigint),
                    PRIMARY KEY (tenant_id, series_uid))
                """,
                "CREATE INDEX dicom_series_study ON dicom_series (tenant_id, study_uid)",
                """
                CREATE TABLE dicom_instances (
                    tenant_id TEXT NOT NULL, sop_uid TEXT NOT NULL, series_uid TEXT NOT NULL, study_uid TEXT NOT NULL,
                    sop_class TEXT NOT NULL, instance_number INTEGER, transfer_syntax TEXT NOT NULL, blob_key TEXT NOT NULL,
                    size \(ddl.bigint) NOT NULL, digest TEXT NOT NULL, frames INTEGER NOT NULL DEFAULT 1, rows_count INTEGER,
                    columns_count INTEGER, bits_allocated INTEGER, metadata \(ddl.blob) NOT NULL,
                    created_at \(ddl.bigint) NOT NULL, deleted_at \(ddl.bigint),
                    PRIMARY KEY (tenant_id, sop_uid))
                """,
                "CREATE INDEX dicom_instances_series ON dicom_instances (tenant_id, series_uid, instance_number)",
                "CREATE INDEX dicom_instances_study ON dicom_instances (tenant_id, study_uid)",
            ]
        },
        down: { _ in ["DROP TABLE dicom_instances", "DROP TABLE dicom_series", "DROP TABLE dicom_studies"] })

    /// Temporary viewer sessions: a token (stored hashed) that opens one study read-only until
    /// it expires; the oldest of an account's sessions closes past the configured limit.
    static let viewerSessions = Migration(
        id: 401, name: "DICOM viewer sessions",
        up: { ddl in
            [
                """
                CREATE TABLE dicom_viewer_sessions (
                    token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, account_id TEXT NOT NULL, study_uid TEXT NOT NULL,
                    created_at \(ddl.bigint) NOT NULL, expires_at \(ddl.bigint) NOT NULL)
                """,
                "CREATE INDEX dicom_viewer_sessions_account ON dicom_viewer_sessions (tenant_id, account_id, created_at)",
            ]
        },
        down: { _ in ["DROP TABLE dicom_viewer_sessions"] })

    /// ImagingStudy resources are rewritten after the index changes, one writer per study:
    /// `change_seq` counts index changes, `synced_seq` the change the ImagingStudy reflects.
    /// A study with `change_seq > synced_seq` is rewritten by the next sync or sweep.
    static let studySync = Migration(
        id: 402, name: "ImagingStudy sync sequence",
        up: { ddl in
            [
                "ALTER TABLE dicom_studies ADD COLUMN change_seq \(ddl.bigint) NOT NULL DEFAULT 0",
                "ALTER TABLE dicom_studies ADD COLUMN synced_seq \(ddl.bigint) NOT NULL DEFAULT 0",
                "CREATE INDEX dicom_studies_stale ON dicom_studies (change_seq, synced_seq)",
            ]
        },
        down: { _ in ["DROP INDEX dicom_studies_stale", "ALTER TABLE dicom_studies DROP COLUMN synced_seq", "ALTER TABLE dicom_studies DROP COLUMN change_seq"] })

    /// "DICOM Instances Transferred" records owed by DIMSE associations, one row per study and
    /// agent, written as AuditEvents when the association ends (or by the sweep after a crash).
    static let auditPending = Migration(
        id: 403, name: "DICOM audit records owed by associations",
        up: { ddl in
            [
                """
                CREATE TABLE dicom_audit_pending (
                    tenant_id TEXT NOT NULL, study_uid TEXT NOT NULL, agent TEXT NOT NULL, patient_ref TEXT,
                    instances INTEGER NOT NULL, updated_at \(ddl.bigint) NOT NULL, PRIMARY KEY (tenant_id, study_uid, agent))
                """
            ]
        },
        down: { _ in ["DROP TABLE dicom_audit_pending"] })

    /// Studies no patient matched are held under the hospital of the modality that sent them,
    /// for its technologists to reconcile.
    static let unmatched = Migration(
        id: 404, name: "DICOM studies held for reconciliation",
        up: { _ in
            [
                "ALTER TABLE dicom_studies ADD COLUMN hospital_ref TEXT",
                "CREATE INDEX dicom_studies_unmatched ON dicom_studies (tenant_id, hospital_ref, patient_ref)",
            ]
        },
        down: { _ in ["DROP INDEX dicom_studies_unmatched", "ALTER TABLE dicom_studies DROP COLUMN hospital_ref"] })

    /// Files published for direct download (presigned URLs), deleted once expired.
    static let publishedDownloads = Migration(
        id: 405, name: "DICOM files published for download",
        up: { ddl in
            [
                """
                CREATE TABLE dicom_published_downloads (
                    blob_key TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, expires_at \(ddl.bigint) NOT NULL)
                """,
                "CREATE INDEX dicom_published_downloads_expiry ON dicom_published_downloads (expires_at)",
            ]
        },
        down: { _ in ["DROP TABLE dicom_published_downloads"] })

    /// SeriesDate and SeriesTime in the index (OHIF asks for them in every series list); NULL
    /// for series stored before, whose answer still comes from a representative instance.
    static let seriesDates = Migration(
        id: 406, name: "DICOM series dates in the index",
        up: { _ in ["ALTER TABLE dicom_series ADD COLUMN series_date TEXT", "ALTER TABLE dicom_series ADD COLUMN series_time TEXT"] },
        down: { _ in ["ALTER TABLE dicom_series DROP COLUMN series_time", "ALTER TABLE dicom_series DROP COLUMN series_date"] })

    /// Instances whose rows committed while their file was still being flushed (one per
    /// store in flight, cleared once the flush is done): what a restart after a power loss
    /// checks (`recoverUnflushed`). `token` tells one write of an instance from the next.
    static let unflushed = Migration(
        id: 407, name: "DICOM instances whose file flush is pending",
        up: { ddl in
            [
                """
                CREATE TABLE dicom_unflushed (
                    tenant_id TEXT NOT NULL, sop_uid TEXT NOT NULL, token \(ddl.bigint) NOT NULL, created_at \(ddl.bigint) NOT NULL,
                    PRIMARY KEY (tenant_id, sop_uid))
                """
            ]
        },
        down: { _ in ["DROP TABLE dicom_unflushed"] })
}
