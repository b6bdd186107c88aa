import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

extension ImagingService {
    /// The study-level attributes the ImagingStudy carries, from the study's index row.
    struct StudyAttributes: Sendable {
        var date: String
        var time: String
        var description: String
        var accession: String
    }

    /// A series as the ImagingStudy resource lists it.
    struct SeriesSummary: Sendable {
        var uid: String
        var number: Int?
        var modality: String
        var description: String
        var bodyPart: String
        var instances: Int
    }

    /// Writes the index rows of `pending` in one transaction, with the "Instances Transferred"
    /// audit record owed for each study (`dicom_audit_pending`: written shortly after by
    /// `finishDeferred`, or by the sweep after a crash), and marks their studies' ImagingStudy
    /// as behind the index (`change_seq`); `syncImagingStudies` then rewrites them, one writer
    /// per study (see ImagingService+Sync.swift). Callers storing at the same time share the
    /// transaction (`GroupCommit`). Writes to a local disk (bounded: an fsync on the blob
    /// store's own threads) go on while the rows are written: the transaction commits once
    /// each file in `awaiting` is readable whole, and marks those still being flushed
    /// (`markUnflushed`); the caller waits for their flush. Writes to a network store are
    /// awaited before the transaction begins, which would otherwise hold the study's rows, or
    /// SQLite's only writer, for as long as the network takes.
    func index(_ pending: [StoreBatch.PendingInstance], caller: Caller, awaiting writes: [StoreBatch.BlobWrite] = []) async throws {
        let bounded = blobs.writesAreBounded
        if !bounded {
            for write in writes { try await write.task.value }
        }
        let inside = bounded ? writes : []
        let tenant = caller.tenant
        let now = now()
        guard let agent = caller.agent else {
            // The server's own work (demo data, imports run as the system) is not audited.
            let cleared = try await database.transaction { database in
                try await self.writeRows(pending, tenant: tenant, now: now, on: database)
                return try await self.markUnflushed(inside, tenant: tenant, now: now, on: database)
            }
            forget(cleared, tenant: tenant)
            for study in Set(pending.map(\.index.studyUID)) { cache.invalidate(study: study, tenant: tenant) }
            return
        }
        let item = StoreRows(pending: pending, agent: try Self.owedAgent(agent), writes: inside)
        try await storeCommits.submit(item, tenant: tenant) { items, tenant in
            await self.indexTogether(items, tenant: tenant, now: now)
        }.get()
    }

    /// The agent as the owed audit rows name it (`dicom_audit_pending.agent`). Sorted keys: the
    /// same agent must give the same text, as it is part of the row's key.
    static func owedAgent(_ agent: AuditAgent) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(agent), as: UTF8.self)
    }

    /// What one store (a STOW-RS request, a C-STORE) gives the index: its rows, its agent (whose
    /// audit record is owed) and the blob writes the commit waits for.
    struct StoreRows: Sendable {
        var pending: [StoreBatch.PendingInstance]
        var agent: String
        var writes: [StoreBatch.BlobWrite]
    }

    struct OwedAudit: Hashable {
        var study: String
        var agent: String
    }

    /// Indexes the stores made at the same time (requests, associations) in one transaction
    /// (one commit, one recount per study and series; see `GroupCommit`). If that transaction
    /// fails, each is tried in its own, so that one store's failure (a file that could not be
    /// written, a refused row) is its alone.
    func indexTogether(_ items: [StoreRows], tenant: TenantID, now: Int64) async -> [Result<Void, any Error>] {
        func write(_ items: [StoreRows]) async throws {
            let cleared = try await database.transaction { database in
                try await self.writeRows(items.flatMap(\.pending), tenant: tenant, now: now, on: database)
                // One owed record per study and agent, however many stores named it.
                var owed: [OwedAudit: (patient: String?, instances: Int)] = [:]
                for item in items {
                    for instance in item.pending {
                        let key = OwedAudit(study: instance.index.studyUID, agent: item.agent)
                        owed[key] = (owed[key]?.patient ?? instance.patient, (owed[key]?.instances ?? 0) + 1)
                    }
                }
                for (key, entry) in owed.sorted(by: { ($0.key.study, $0.key.agent) < ($1.key.study, $1.key.agent) }) {
                    try await database.raw(
                        """
                        INSERT INTO dicom_audit_pending (tenant_id, study_uid, agent, patient_ref, instances, updated_at)
                        VALUES (\(bind: tenant.rawValue), \(bind: key.study), \(bind: key.agent), \(bind: entry.patient), \(bind: entry.instances), \(bind: now))
                        ON CONFLICT (tenant_id, study_uid, agent) DO UPDATE SET instances = dicom_audit_pending.instances + excluded.instances,
                            updated_at = excluded.updated_at
                        """
                    ).run()
                }
                return try await self.markUnflushed(items.flatMap(\.writes), tenant: tenant, now: now, on: database)
            }
            forget(cleared, tenant: tenant)
            for study in Set(items.flatMap { $0.pending.map(\.index.studyUID) }) { cache.invalidate(study: study, tenant: tenant) }
        }
        if items.count > 1 {
            do {
                try await write(items)
                return items.map { _ in .success(()) }
            } catch {
                logger.debug("a grouped DICOM index transaction failed; indexing its stores one by one", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        var outcomes: [Result<Void, any Error>] = []
        for item in items {
            do {
                try await write([item])
                outcomes.append(.success(()))
            } catch {
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }

    /// The index rows of `pending`: the instances first (a few multi-row statements), then one
    /// statement per series and per study, so that QIDO's counts and modalities are right at
    /// commit. Instance counts grow by the live instances each store adds (recounting them
    /// made every store into a study of n instances read its n rows); a series or study an
    /// instance moves out of (replaced with other content) is recounted whole.
    func writeRows(
        _ pending: [StoreBatch.PendingInstance], tenant: TenantID, now: Int64, on database: any SQLDatabase
    ) async throws {
        let t = tenant.rawValue
        let changes = try await countChanges(pending, tenant: t, on: database)
        for chunk in pending.chunks(of: 100) {
            var sql: SQLQueryString = """
                INSERT INTO dicom_instances (tenant_id, sop_uid, series_uid, study_uid, sop_class, instance_number, transfer_syntax, blob_key, size,
                    digest, frames, rows_count, columns_count, bits_allocated, metadata, created_at)
                VALUES
                """
            for (position, instance) in chunk.enumerated() {
                let i = instance.index
                if position > 0 { sql += "," }
                sql += """
                     (\(bind: t), \(bind: i.sopUID), \(bind: i.seriesUID), \(bind: i.studyUID), \(bind: i.sopClass), \(bind: i.instanceNumber),
                    \(bind: i.transferSyntax), \(bind: instance.blobKey), \(bind: Int64(instance.size)), \(bind: instance.digest), \(bind: i.frames),
                    \(bind: i.rows), \(bind: i.columns), \(bind: i.bitsAllocated), \(bind: Data(instance.metadata)), \(bind: now))
                    """
            }
            sql += """
                 ON CONFLICT (tenant_id, sop_uid) DO UPDATE SET series_uid = excluded.series_uid, study_uid = excluded.study_uid,
                    sop_class = excluded.sop_class, instance_number = excluded.instance_number, transfer_syntax = excluded.transfer_syntax,
                    blob_key = excluded.blob_key, size = excluded.size, digest = excluded.digest, frames = excluded.frames,
                    rows_count = excluded.rows_count, columns_count = excluded.columns_count, bits_allocated = excluded.bits_allocated,
                    metadata = excluded.metadata, created_at = excluded.created_at, deleted_at = NULL
                """
            try await database.raw(sql).run()
        }
        var seenSeries: Set<String> = []
        for instance in pending where seenSeries.insert(instance.index.seriesUID).inserted {
            let i = instance.index
            try await database.raw(
                """
                INSERT INTO dicom_series (tenant_id, series_uid, study_uid, modality, series_number, description, body_part, performed_date,
                    performed_time, series_date, series_time, created_at, instance_count)
                VALUES (\(bind: t), \(bind: i.seriesUID), \(bind: i.studyUID), \(bind: i.modality), \(bind: i.seriesNumber), \(bind: i.seriesDescription),
                    \(bind: i.bodyPart), \(bind: i.performedDate), \(bind: i.performedTime), \(bind: i.seriesDate), \(bind: i.seriesTime), \(bind: now),
                    \(bind: changes.series[i.seriesUID] ?? 0))
                ON CONFLICT (tenant_id, series_uid) DO UPDATE SET deleted_at = NULL, instance_count = dicom_series.instance_count + excluded.instance_count
                """
            ).run()
        }
        var seenStudies: Set<String> = []
        for instance in pending where seenStudies.insert(instance.index.studyUID).inserted {
            let i = instance.index
            let totals = Self.studyTotals(tenant: "\(bind: t)", study: "\(bind: i.studyUID)")
            try await database.raw(
                """
                INSERT INTO dicom_studies (tenant_id, study_uid, patient_ref, imaging_study_id, patient_id, issuer, patient_name, patient_name_key,
                    patient_name_words, birth_date, sex, study_date, study_time, accession, study_id, referring, referring_key, description,
                    created_at, updated_at, change_seq, hospital_ref, modalities, series_count, instance_count)
                VALUES (\(bind: t), \(bind: i.studyUID), \(bind: instance.patient), \(bind: i.studyUID), \(bind: i.patientID), \(bind: i.issuer),
                    \(bind: i.patientName), \(bind: NameKey.normalize(i.patientName)), \(bind: NameKey.words(i.patientName)), \(bind: i.birthDate),
                    \(bind: i.sex), \(bind: i.studyDate), \(bind: i.studyTime), \(bind: i.accession), \(bind: i.studyID), \(bind: i.referring),
                    \(bind: NameKey.normalize(i.referring)), \(bind: i.studyDescription), \(bind: now), \(bind: now), 1, \(bind: instance.heldFor), \(totals.modalities),
                    \(totals.series), \(bind: changes.studies[i.studyUID] ?? 0))
                ON CONFLICT (tenant_id, study_uid) DO UPDATE SET updated_at = excluded.updated_at, deleted_at = NULL,
                    patient_ref = COALESCE(dicom_studies.patient_ref, excluded.patient_ref), change_seq = dicom_studies.change_seq + 1,
                    modalities = excluded.modalities, series_count = excluded.series_count,
                    instance_count = dicom_studies.instance_count + excluded.instance_count
                """
            ).run()
        }
        if !changes.recount.isEmpty {
            try await recount(
                studies: Array(Set(changes.recount.map(\.study))), series: Array(Set(changes.recount.map(\.series))), tenant: tenant, on: database)
        }
    }

    /// What `pending` changes in the live instance counts, read inside the transaction: each
    /// instance not yet live (new, or deleted before) adds one to its series and study; one
    /// already live elsewhere (another series) leaves both places to be recounted. On
    /// PostgreSQL the stores into one study take turns from here (SQLite's single writer
    /// already has them), so that what is read here is what the rows are at commit.
    func countChanges(
        _ pending: [StoreBatch.PendingInstance], tenant: String, on database: any SQLDatabase
    ) async throws -> (series: [String: Int], studies: [String: Int], recount: [(series: String, study: String)]) {
        if self.database.dialect == .postgres {
            for study in Set(pending.map(\.index.studyUID)).sorted() {
                try await database.raw("SELECT pg_advisory_xact_lock(7366914, hashtext(\(bind: tenant + "|" + study)))").run()
            }
        }
        var live: [String: (series: String, study: String)] = [:]
        let sops = pending.map(\.index.sopUID)
        for chunk in sops.chunks(of: 500) {
            let rows = try await database.raw(
                """
                SELECT sop_uid, series_uid, study_uid FROM dicom_instances
                WHERE tenant_id = \(bind: tenant) AND deleted_at IS NULL AND sop_uid IN (\(binds: chunk))
                """
            ).all()
            for row in rows {
                live[try row.decode(column: "sop_uid", as: String.self)] =
                    (try row.decode(column: "series_uid", as: String.self), try row.decode(column: "study_uid", as: String.self))
            }
        }
        var series: [String: Int] = [:]
        var studies: [String: Int] = [:]
        var recount: [(series: String, study: String)] = []
        for instance in pending {
            let i = instance.index
            if let before = live[i.sopUID] {
                if before.series != i.seriesUID { recount += [before, (i.seriesUID, i.studyUID)] }
            } else {
                series[i.seriesUID, default: 0] += 1
                studies[i.studyUID, default: 0] += 1
            }
            live[i.sopUID] = (i.seriesUID, i.studyUID)
        }
        return (series, studies, recount)
    }

    /// Recomputes the counts and modalities the index keeps per series and study.
    func recount(studies: [String], series: [String], tenant: TenantID, on database: any SQLDatabase) async throws {
        let t = tenant.rawValue
        if !series.isEmpty {
            try await database.raw(
                """
                UPDATE dicom_series SET instance_count = (SELECT COUNT(*) FROM dicom_instances i WHERE i.tenant_id = dicom_series.tenant_id
                    AND i.series_uid = dicom_series.series_uid AND i.deleted_at IS NULL)
                WHERE tenant_id = \(bind: t) AND series_uid IN (\(binds: series))
                """
            ).run()
        }
        guard !studies.isEmpty else { return }
        let totals = Self.studyTotals(tenant: "dicom_studies.tenant_id", study: "dicom_studies.study_uid")
        try await database.raw(
            """
            UPDATE dicom_studies SET modalities = \(totals.modalities), series_count = \(totals.series), instance_count = \(totals.instances)
            WHERE tenant_id = \(bind: t) AND study_uid IN (\(binds: studies))
            """
        ).run()
    }

    /// What a study row keeps about its series and instances, for the study that `tenant` and
    /// `study` name (binds or columns): ModalitiesInStudy as QIDO returns it (distinct, sorted,
    /// joined by "\"), the number of series with instances, the number of instances.
    static func studyTotals(tenant: SQLQueryString, study: SQLQueryString) -> (modalities: SQLQueryString, series: SQLQueryString, instances: SQLQueryString) {
        let seriesOfStudy: SQLQueryString = "s.tenant_id = " + tenant + " AND s.study_uid = " + study + " AND s.deleted_at IS NULL AND s.instance_count > 0"
        let modalities: SQLQueryString = "COALESCE((SELECT string_agg(m.modality, \(bind: "\\") ORDER BY m.modality) FROM (SELECT DISTINCT s.modality FROM dicom_series s WHERE "
        return (
            modalities + seriesOfStudy + " AND s.modality <> '') m), '')",
            "(SELECT COUNT(*) FROM dicom_series s WHERE " + seriesOfStudy + ")",
            "(SELECT COUNT(*) FROM dicom_instances i WHERE i.tenant_id = " + tenant + " AND i.study_uid = " + study + " AND i.deleted_at IS NULL)"
        )
    }

    /// The series of a study as the index has them.
    func seriesSummaries(study: String, tenant: TenantID) async throws -> [SeriesSummary] {
        let rows = try await database.read { database in
            try await database.raw(
                """
                SELECT se.series_uid, se.series_number, se.modality, se.description, se.body_part, se.instance_count AS n
                FROM dicom_series se WHERE se.tenant_id = \(bind: tenant.rawValue) AND se.study_uid = \(bind: study) AND se.deleted_at IS NULL
                """
            ).all()
        }
        var series: [String: SeriesSummary] = [:]
        for row in rows {
            let uid = try row.decode(column: "series_uid", as: String.self)
            series[uid] = SeriesSummary(
                uid: uid, number: try row.decode(column: "series_number", as: Int?.self), modality: try row.decode(column: "modality", as: String.self),
                description: try row.decode(column: "description", as: String.self), bodyPart: try row.decode(column: "body_part", as: String.self),
                instances: try row.decode(column: "n", as: Int.self))
        }
        return series.values.filter { $0.instances > 0 }.sorted { ($0.number ?? Int.max, $0.uid) < ($1.number ?? Int.max, $1.uid) }
    }

    /// The ImagingStudy resource of a study (FHIR R4 ImagingStudy): the clinical side of the
    /// archive, with its series and counts; instances stay in the DICOM index.
    func imagingStudy(study: String, patient: String, attributes: StudyAttributes, series: [SeriesSummary]) -> JSON {
        let dcm = "http://dicom.nema.org/resources/ontology/DCM"
        var object: JSONObject = [
            "resourceType": "ImagingStudy", "id": .string(study), "status": "available",
            "identifier": [["system": "urn:dicom:uid", "value": .string("urn:oid:\(study)")]],
            "subject": ["reference": .string("Patient/\(patient)")],
            "numberOfSeries": .number(JSONNumber(series.count)),
            "numberOfInstances": .number(JSONNumber(series.reduce(0) { $0 + $1.instances })),
        ]
        let modalities = Array(Set(series.map(\.modality).filter(Self.isCode))).sorted()
        if !modalities.isEmpty { object["modality"] = .array(modalities.map { ["system": .string(dcm), "code": .string($0)] }) }
        if let started = Self.fhirDateTime(date: attributes.date, time: attributes.time) { object["started"] = .string(started) }
        if !attributes.description.isEmpty { object["description"] = .string(attributes.description) }
        if !attributes.accession.isEmpty {
            object["identifier"] = .array((object["identifier"]?.arrayValue ?? []) + [[
                "type": ["coding": [["system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"]]], "value": .string(attributes.accession),
            ]])
        }
        object["series"] = .array(series.map { summary in
            var entry: JSONObject = [
                "uid": .string(summary.uid),
                "modality": ["system": .string(dcm), "code": .string(Self.isCode(summary.modality) ? summary.modality : "OT")],
                "numberOfInstances": .number(JSONNumber(summary.instances)),
            ]
            if let number = summary.number, number >= 0 { entry["number"] = .number(JSONNumber(number)) }
            if !summary.description.isEmpty { entry["description"] = .string(summary.description) }
            return .object(entry)
        })
        return .object(object)
    }

    static func isCode(_ text: String) -> Bool {
        !text.isEmpty && !text.hasPrefix(" ") && !text.hasSuffix(" ") && !text.contains("  ")
    }

    /// DICOM DA + TM as a FHIR dateTime (no time zone in DICOM: the date alone when no time,
    /// since FHIR requires a zone with a time).
    static func fhirDateTime(date: String, time: String) -> String? {
        let digits = date.filter(\.isNumber)
        guard digits.count == 8 else { return nil }
        let year = digits.prefix(4), month = digits.dropFirst(4).prefix(2), day = digits.suffix(2)
        guard let m = Int(month), (1...12).contains(m), let d = Int(day), (1...31).contains(d) else { return nil }
        return "\(year)-\(month)-\(day)"
    }
}
