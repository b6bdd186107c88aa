import Core
import DICOM
import FHIRStore
import Foundation
import SQLKit
import Storage

/// The query/retrieve information models (PS3.4 §C.3).
public enum InformationModel: Sendable {
    case patientRoot, studyRoot
}

extension ImagingService {
    /// C-FIND (PS3.4 §C.4.1): the identifiers matching `identifier` at its Query/Retrieve Level,
    /// each holding exactly the keys asked for. Matching runs on the same index, with the same
    /// access filter, as QIDO-RS; keys the index does not match on are returned, not matched.
    public func find(_ identifier: DataSet, model: InformationModel, caller: Caller, retrieveAE: String) async throws -> [DataSet] {
        let levelName = identifier.string(.queryRetrieveLevel)?.uppercased() ?? ""
        let patientLevel = levelName == "PATIENT"
        guard patientLevel ? model == .patientRoot : ["STUDY", "SERIES", "IMAGE"].contains(levelName) else {
            throw ServiceError.invalid("Query/Retrieve Level \"\(levelName)\" is not one of PATIENT (patient root), STUDY, SERIES, IMAGE.")
        }
        let level = QueryLevel(rawValue: patientLevel ? "STUDY" : levelName)!
        var query = try QIDOQuery(level: level, parameters: [])
        let skipped: Set<Tag> = [.queryRetrieveLevel, .specificCharacterSet, .retrieveAETitle, .instanceAvailability]
        let keys = identifier.elements.map(\.tag).filter { !skipped.contains($0) && !$0.isGroupLength }
        for element in identifier.elements where !skipped.contains(element.tag) && element.vr != .SQ {
            let values = identifier.strings(element.tag).filter { !$0.isEmpty }
            if !values.isEmpty { query.matches.append((element.tag, values.joined(separator: "\\"))) }
        }
        query.include = Set(keys)
        query.limit = Self.maximumFindResults
        let results = try await search(query, caller: caller, retrieveBase: "")
        var answers: [DataSet] = []
        if patientLevel {
            var seen: [String: Int] = [:]
            var patients: [(DataSet, Int)] = []
            for result in results {
                let key = "\(result.string(.patientID) ?? "")|\(result.string(.issuerOfPatientID) ?? "")"
                if let index = seen[key] { patients[index].1 += 1 } else {
                    seen[key] = patients.count
                    patients.append((result, 1))
                }
            }
            for (result, studies) in patients {
                var enriched = result
                enriched.set(.numberOfPatientRelatedStudies, .IS, String(studies))
                answers.append(Self.answer(enriched, keys: keys, level: "PATIENT", retrieveAE: retrieveAE))
            }
        } else {
            answers = results.map { Self.answer($0, keys: keys, level: levelName, retrieveAE: retrieveAE) }
        }
        return answers
    }

    /// More than QIDO's page: a C-FIND has no paging, and modality worklists of a whole archive
    /// are asked for.
    static let maximumFindResults = 100_000

    /// A response identifier: the requested keys with the values found (empty when none).
    static func answer(_ result: DataSet, keys: [Tag], level: String, retrieveAE: String) -> DataSet {
        var out = DataSet()
        out.characterSet = .utf8
        out.set(.specificCharacterSet, .CS, "ISO_IR 192")
        out.set(.queryRetrieveLevel, .CS, level)
        out.set(.retrieveAETitle, .AE, retrieveAE)
        for key in keys where !out.contains(key) {
            if let element = result[key] {
                out[key] = element
            } else {
                let vr = DataDictionary.entry(for: key)?.vr ?? .UN
                out[key] = DataElement(tag: key, vr: vr, value: vr == .SQ ? .sequence([]) : .bytes([]))
            }
        }
        return out
    }

    /// The instances a C-MOVE identifier selects (PS3.4 §C.4.2.2.1: unique keys at and above
    /// its level) that the caller may see; each study's access is audited.
    public func instances(selectedBy identifier: DataSet, caller: Caller) async throws -> [InstanceLocation] {
        let levelName = identifier.string(.queryRetrieveLevel)?.uppercased() ?? ""
        let keys: [Tag]
        switch levelName {
        case "PATIENT": keys = [.patientID]
        case "STUDY": keys = [.patientID, .studyInstanceUID]
        case "SERIES": keys = [.studyInstanceUID, .seriesInstanceUID]
        case "IMAGE": keys = [.studyInstanceUID, .seriesInstanceUID, .sopInstanceUID]
        default: throw ServiceError.invalid("Query/Retrieve Level \"\(levelName)\" is not one of PATIENT, STUDY, SERIES, IMAGE.")
        }
        var query = try QIDOQuery(level: .instance, parameters: [])
        for key in keys {
            let values = identifier.strings(key).filter { !$0.isEmpty }
            if !values.isEmpty { query.matches.append((key, values.joined(separator: "\\"))) }
        }
        guard !query.matches.isEmpty, keys.last.map({ key in query.matches.contains { $0.tag == key } }) == true else {
            throw ServiceError.invalid("A \(levelName) level retrieve names its unique key \(keys.last.map { "\($0)" } ?? "").")
        }
        var sql: SQLQueryString = """
            SELECT \(unsafeRaw: InstanceLocation.columns)
            FROM dicom_instances i JOIN dicom_series se ON se.tenant_id = i.tenant_id AND se.series_uid = i.series_uid
            JOIN dicom_studies s ON s.tenant_id = i.tenant_id AND s.study_uid = i.study_uid
            WHERE i.deleted_at IS NULL AND
            """
        sql += " " + visible(caller)
        for condition in try query.conditions() { sql += " AND " + condition }
        sql += " ORDER BY i.study_uid, i.series_uid, i.instance_number, i.sop_uid"
        let finalSQL = sql
        let rows = try await database.read { database in try await database.raw(finalSQL).all() }
        let locations = try rows.map(InstanceLocation.init(row:))
        var audited: Set<String> = []
        for location in locations where audited.insert(location.study).inserted {
            try await auditAccess(study: location.study, patient: location.patient, caller: caller)
        }
        return locations
    }
}
