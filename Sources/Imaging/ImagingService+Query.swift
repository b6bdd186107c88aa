import Core
import DICOM
import FHIRStore
import Foundation
import SQLKit
import Storage
import Synchronization

extension ImagingService {
    /// The access condition on a study row aliased `s`: the studies of patients whose
    /// ImagingStudy the caller may read; unfiled studies only for callers who see everything.
    /// `perRow`: each row's patient is looked up (a correlated EXISTS on the care team) rather
    /// than the caller's whole patient list built, for statements that name their study or
    /// will test few rows.
    func visible(_ caller: Caller, oneStudy perRow: Bool = false) -> SQLQueryString {
        var condition: SQLQueryString = "s.tenant_id = \(bind: caller.tenant.rawValue) AND s.deleted_at IS NULL"
        if let patients = accessCondition(caller, perRow: perRow) { condition += " AND " + patients }
        return condition
    }

    func accessCondition(_ caller: Caller, perRow: Bool) -> SQLQueryString? {
        fhir.patientCondition(caller.read, type: Self.resourceType, tenant: caller.tenant, column: "s.patient_ref", correlated: perRow)
            .map { "s.patient_ref IS NOT NULL AND " + $0 }
    }

    /// Attributes whose match leaves few studies to test (QIDO's patient, accession and
    /// study keys).
    static let narrowingKeys: Set<Tag> = [.patientName, .patientID, .accessionNumber, .studyInstanceUID, .studyID]

    /// Whether a search should test each candidate row against the caller's grant rather than
    /// list the grant's patients once: when it names its study or patient, when it matches on
    /// a narrowing key, or when the tenant's archive is small (`perRowAccessBelow`). A
    /// physician following 1 500 patients otherwise pays for that list on every query of a
    /// ten-study archive.
    func testsAccessPerRow(_ query: QIDOQuery, caller: Caller) async throws -> Bool {
        if query.study != nil || query.patient != nil { return true }
        if query.matches.contains(where: { Self.narrowingKeys.contains($0.tag) && $0.value.contains(where: { $0 != "*" }) }) { return true }
        return try await studyCount(caller.tenant) < configuration.perRowAccessBelow
    }

    /// The tenant's stored studies, counted at most every ten seconds (an estimate is enough
    /// to choose a query plan).
    func studyCount(_ tenant: TenantID) async throws -> Int {
        let now = now()
        if let known = studyCounts.withLock({ $0[tenant] }), now - known.at < 10_000 { return known.count }
        let count = try await database.read { database in
            try await database.raw("SELECT COUNT(*) AS n FROM dicom_studies WHERE tenant_id = \(bind: tenant.rawValue) AND deleted_at IS NULL")
                .first()?.decode(column: "n", as: Int.self) ?? 0
        }
        studyCounts.withLock { $0[tenant] = (count, now) }
        return count
    }

    /// Runs a QIDO-RS search and returns the matching data sets (PS3.18 §10.6.3).
    public func search(_ query: QIDOQuery, caller: Caller, retrieveBase: String) async throws -> [DataSet] {
        let rows = try await rows(query, caller: caller)
        var results: [DataSet] = []
        results.reserveCapacity(rows.count)
        for row in rows { results.append(try await dataSet(row, query: query, tenant: caller.tenant, retrieveBase: retrieveBase)) }
        return results
    }

    /// The study, series or instance rows a search matches, within the caller's grants; the
    /// query is audited (once per window) when it found someone's images.
    func rows(_ query: QIDOQuery, caller: Caller) async throws -> [any SQLRow] {
        let sql = try statement(query, caller: caller, perRow: try await testsAccessPerRow(query, caller: caller))
        let rows = try await database.read { database in try await database.raw(sql).all() }
        if let agent = caller.agent {
            let patients = Array(Set(try rows.compactMap { try $0.decode(column: "patient_ref", as: String?.self) })).sorted()
            let key = "\(query.level.rawValue)|\(query.study ?? "")|\(query.series ?? "")|\(query.patient ?? "")|\(query.matches.map { "\($0.tag)=\($0.value)" })"
            if !patients.isEmpty, accessAudit.shouldRecord(account: agent.account, study: key, action: "query") {
                try await fhir.record(AuditRecord(agent: agent, kind: .dicom(.query), action: .execute, patients: patients, query: key), tenant: caller.tenant)
            }
        }
        return rows
    }

    /// The statement of a search; `perRow` as `testsAccessPerRow` decides.
    func statement(_ query: QIDOQuery, caller: Caller, perRow: Bool) throws -> SQLQueryString {
        var sql: SQLQueryString
        switch query.level {
        case .study:
            sql = "SELECT s.*"
            if Self.answersStudyModality(query) {
                // Modality is a series attribute: a study answers its representative instance's
                // (the one whose metadata would be read), from the index rather than from the
                // instance's sealed metadata (OHIF's study list asks for it on every study).
                sql += """
                    , (SELECT se.modality FROM dicom_instances i JOIN dicom_series se ON se.tenant_id = i.tenant_id AND se.series_uid = i.series_uid
                        WHERE i.tenant_id = s.tenant_id AND i.study_uid = s.study_uid AND i.deleted_at IS NULL
                        ORDER BY i.instance_number LIMIT 1) AS representative_modality
                    """
            }
            sql += " FROM dicom_studies s WHERE s.tenant_id = \(bind: caller.tenant.rawValue) AND s.deleted_at IS NULL"
        case .series:
            sql = """
                SELECT s.*, se.series_uid, se.modality, se.series_number, se.description AS series_description, se.body_part,
                    se.performed_date, se.performed_time, se.series_date, se.series_time, se.instance_count AS series_instances
                FROM dicom_series se JOIN dicom_studies s ON s.tenant_id = se.tenant_id AND s.study_uid = se.study_uid
                WHERE se.deleted_at IS NULL AND se.instance_count > 0 AND s.tenant_id = \(bind: caller.tenant.rawValue) AND s.deleted_at IS NULL
                """
        case .instance:
            sql = """
                SELECT s.*, se.series_uid, se.modality, se.series_number, se.description AS series_description, se.body_part,
                    se.performed_date, se.performed_time, se.series_date, se.series_time, se.instance_count AS series_instances,
                    i.sop_uid, i.sop_class, i.instance_number, i.transfer_syntax, i.frames, i.rows_count, i.columns_count, i.bits_allocated
                FROM dicom_instances i JOIN dicom_series se ON se.tenant_id = i.tenant_id AND se.series_uid = i.series_uid
                JOIN dicom_studies s ON s.tenant_id = i.tenant_id AND s.study_uid = i.study_uid
                WHERE i.deleted_at IS NULL AND s.tenant_id = \(bind: caller.tenant.rawValue) AND s.deleted_at IS NULL
                """
        }
        if let study = query.study { sql += " AND s.study_uid = \(bind: study)" }
        if let series = query.series { sql += " AND se.series_uid = \(bind: series)" }
        if let patient = query.patient { sql += " AND s.patient_ref = \(bind: patient)" }
        for condition in try query.conditions() { sql += " AND " + condition }
        // Last, so that a per-row lookup runs only for rows the filters kept.
        if let access = accessCondition(caller, perRow: perRow) { sql += " AND " + access }
        switch query.level {
        case .study: sql += " ORDER BY s.study_date DESC, s.study_time DESC, s.study_uid"
        case .series: sql += " ORDER BY s.study_uid, se.series_number, se.series_uid"
        case .instance: sql += " ORDER BY se.series_uid, i.instance_number, i.sop_uid"
        }
        sql += " LIMIT \(literal: query.limit ?? QIDOQuery.maximumLimit) OFFSET \(literal: query.offset)"
        return sql
    }

    /// The attributes of one result (PS3.18 Tables 10.6.3-3 to -5), plus `includefield`s.
    func dataSet(_ row: any SQLRow, query: QIDOQuery, tenant: TenantID, retrieveBase: String) async throws -> DataSet {
        func text(_ column: String) throws -> String { try row.decode(column: column, as: String?.self) ?? "" }
        var out = DataSet()
        out.characterSet = .utf8
        out.set(.specificCharacterSet, .CS, "ISO_IR 192")
        func put(_ tag: Tag, _ vr: VR, _ value: String) { if !value.isEmpty { out.set(tag, vr, value) } else { out.set(tag, vr, [String]()) } }
        let study = try text("study_uid")
        put(.studyInstanceUID, .UI, study)
        put(.studyDate, .DA, try text("study_date"))
        put(.studyTime, .TM, try text("study_time"))
        put(.accessionNumber, .SH, try text("accession"))
        put(.referringPhysicianName, .PN, try text("referring"))
        put(.patientName, .PN, try text("patient_name"))
        put(.patientID, .LO, try text("patient_id"))
        put(.patientBirthDate, .DA, try text("birth_date"))
        put(.patientSex, .CS, try text("sex"))
        put(.studyID, .SH, try text("study_id"))
        put(.studyDescription, .LO, try text("description"))
        let modalities = try text("modalities")
        out.set(.modalitiesInStudy, .CS, modalities.isEmpty ? [] : modalities.split(separator: "\\").map(String.init))
        out.set(.numberOfStudyRelatedSeries, .IS, String(try row.decode(column: "series_count", as: Int.self)))
        out.set(.numberOfStudyRelatedInstances, .IS, String(try row.decode(column: "instance_count", as: Int.self)))
        out.set(.instanceAvailability, .CS, "ONLINE")
        if Self.answersStudyModality(query), let modality = try row.decode(column: "representative_modality", as: String?.self) {
            put(.modality, .CS, modality)
        }
        var retrieve = "\(retrieveBase)/studies/\(study)"
        var representative: (series: String?, sop: String?) = (nil, nil)
        if query.level != .study {
            let series = try text("series_uid")
            representative.series = series
            put(.seriesInstanceUID, .UI, series)
            put(.modality, .CS, try text("modality"))
            put(.seriesDescription, .LO, try text("series_description"))
            put(.bodyPartExamined, .CS, try text("body_part"))
            put(.performedProcedureStepStartDate, .DA, try text("performed_date"))
            put(.performedProcedureStepStartTime, .TM, try text("performed_time"))
            // NULL for series indexed before these columns: read from the instance below.
            if let date = try row.decode(column: "series_date", as: String?.self) { put(.seriesDate, .DA, date) }
            if let time = try row.decode(column: "series_time", as: String?.self) { put(.seriesTime, .TM, time) }
            if let number = try row.decode(column: "series_number", as: Int?.self) { out.set(.seriesNumber, .IS, String(number)) }
            out.set(.numberOfSeriesRelatedInstances, .IS, String(try row.decode(column: "series_instances", as: Int.self)))
            retrieve += "/series/\(series)"
        }
        if query.level == .instance {
            let sop = try text("sop_uid")
            representative.sop = sop
            put(.sopInstanceUID, .UI, sop)
            put(.sopClassUID, .UI, try text("sop_class"))
            if let number = try row.decode(column: "instance_number", as: Int?.self) { out.set(.instanceNumber, .IS, String(number)) }
            if let rows = try row.decode(column: "rows_count", as: Int?.self) { out.set(.rows, .US, integers: [rows]) }
            if let columns = try row.decode(column: "columns_count", as: Int?.self) { out.set(.columns, .US, integers: [columns]) }
            if let bits = try row.decode(column: "bits_allocated", as: Int?.self) { out.set(.bitsAllocated, .US, integers: [bits]) }
            out.set(.numberOfFrames, .IS, String(try row.decode(column: "frames", as: Int.self)))
            retrieve += "/instances/\(sop)"
        }
        out.set(.retrieveURL, .UR, retrieve)
        // Attributes asked for that the index does not hold come from a representative instance.
        let missing = query.includeAll ? nil : query.include.filter { !out.contains($0) }
        if missing == nil || !(missing ?? []).isEmpty {
            if let source = try await representativeMetadata(tenant: tenant, study: study, series: representative.series, sop: representative.sop) {
                for element in source.elements where !element.vr.isBulkBinary && element.tag.group != 0x7FE0 && !out.contains(element.tag) {
                    if let missing, !missing.contains(element.tag) { continue }
                    if missing == nil, Self.rankOf(element.tag) > QIDOQuery.rank(query.level) { continue }
                    out[element.tag] = element
                }
            }
        }
        return out
    }

    /// A study-level search asking for Modality by name.
    static func answersStudyModality(_ query: QIDOQuery) -> Bool {
        query.level == .study && query.include.contains(.modality)
    }

    /// Which level an attribute belongs to, for `includefield=all` (series- and instance-level
    /// modules are not copied into study results).
    static func rankOf(_ tag: Tag) -> Int {
        switch tag.group {
        case 0x0010: return 0
        case 0x0008 where [0x0020, 0x0030, 0x0050, 0x0090, 0x1030, 0x0080, 0x1010].contains(tag.element): return 0
        case 0x0020 where [0x000D, 0x0010].contains(tag.element): return 0
        case 0x0008 where [0x0060, 0x0021, 0x0031, 0x103E].contains(tag.element): return 1
        case 0x0018, 0x0020: return tag == .seriesInstanceUID || tag == .seriesNumber ? 1 : 2
        default: return 2
        }
    }

    /// The decoded metadata of one instance of the study/series (the first by number).
    func representativeMetadata(tenant: TenantID, study: String, series: String?, sop: String?) async throws -> DataSet? {
        var sql: SQLQueryString = "SELECT sop_uid, metadata FROM dicom_instances WHERE tenant_id = \(bind: tenant.rawValue) AND study_uid = \(bind: study) AND deleted_at IS NULL"
        if let series { sql += " AND series_uid = \(bind: series)" }
        if let sop { sql += " AND sop_uid = \(bind: sop)" }
        sql += " ORDER BY instance_number LIMIT 1"
        let finalSQL = sql
        guard let row = try await database.read({ database in try await database.raw(finalSQL).first() }) else { return nil }
        let json = try await open([UInt8](try row.decode(column: "metadata", as: Data.self)), tenant: tenant, sop: try row.decode(column: "sop_uid", as: String.self))
        return try DICOMJSON.decode(Data(json), skippingBulkData: true)
    }
}
