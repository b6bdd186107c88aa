import Core
import DICOM
import FHIRStore
import Foundation
import SQLKit
import Storage

/// A study as the application lists it.
public struct StudyListing: Sendable, Codable, Equatable {
    public var uid: String
    /// The Hygie Patient it is filed under.
    public var patient: String?
    public var patientName: String
    public var patientId: String
    public var date: String
    public var time: String
    public var accession: String
    public var description: String
    public var modalities: [String]
    public var seriesCount: Int
    public var instanceCount: Int
}

/// A series of a study's details.
public struct SeriesListing: Sendable, Codable, Equatable {
    public var uid: String
    public var number: Int?
    public var modality: String
    public var description: String
    public var bodyPart: String
    public var instanceCount: Int
}

extension ImagingService {
    /// The studies a search matches (newest first), within the caller's grants.
    public func studies(_ query: QIDOQuery, caller: Caller) async throws -> [StudyListing] {
        var query = query
        query.level = .study
        return try await rows(query, caller: caller).map(Self.listing)
    }

    /// One study and its series; 404 when the caller may not see it.
    public func study(_ uid: String, caller: Caller) async throws -> (StudyListing, [SeriesListing]) {
        var query = try QIDOQuery(level: .series, study: uid, parameters: [])
        query.limit = QIDOQuery.maximumLimit
        let rows = try await rows(query, caller: caller)
        guard let first = rows.first else { throw ServiceError.notFound("Study \(uid)") }
        let series = try rows.map { row in
            SeriesListing(
                uid: try row.decode(column: "series_uid", as: String.self), number: try row.decode(column: "series_number", as: Int?.self),
                modality: try row.decode(column: "modality", as: String.self), description: try row.decode(column: "series_description", as: String.self),
                bodyPart: try row.decode(column: "body_part", as: String.self), instanceCount: try row.decode(column: "series_instances", as: Int.self))
        }
        return (try Self.listing(first), series)
    }

    /// Whether the caller may file images under this patient (the upload area shows then).
    public func mayFile(patient: String, caller: Caller) async throws -> Bool {
        try await fhir.mayWrite(type: Self.resourceType, patients: [patient], caller: caller)
    }

    static func listing(_ row: any SQLRow) throws -> StudyListing {
        let modalities = try row.decode(column: "modalities", as: String.self)
        return StudyListing(
            uid: try row.decode(column: "study_uid", as: String.self), patient: try row.decode(column: "patient_ref", as: String?.self),
            patientName: try row.decode(column: "patient_name", as: String.self), patientId: try row.decode(column: "patient_id", as: String.self),
            date: try row.decode(column: "study_date", as: String.self), time: try row.decode(column: "study_time", as: String.self),
            accession: try row.decode(column: "accession", as: String.self), description: try row.decode(column: "description", as: String.self),
            modalities: modalities.isEmpty ? [] : modalities.split(separator: "\\").map(String.init),
            seriesCount: try row.decode(column: "series_count", as: Int.self), instanceCount: try row.decode(column: "instance_count", as: Int.self))
    }
}
