import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import SQLKit
import Storage

extension ImagingService {
    /// Soft-deletes a study, series or instance (issue 5): the caller must see it and be allowed
    /// to change the patient's images (a linked physician). Rows are marked deleted, counts
    /// follow and an audit record is written in one transaction; the ImagingStudy is then
    /// rewritten (or deleted with the last instance). Blobs stay until a purge.
    public func delete(study: String, series: String? = nil, sop: String? = nil, caller: Caller) async throws {
        let located = try await locate(study: study, series: series, sop: sop, caller: caller)
        let patient = located[0].patient
        if let patient {
            guard try await fhir.mayWrite(type: Self.resourceType, patients: [patient], caller: caller) else {
                throw ServiceError(403, "forbidden", "You may see these images but not delete them.")
            }
        } else if !caller.write.everything {
            throw ServiceError(403, "forbidden", "You may see these images but not delete them.")
        }
        let tenant = caller.tenant
        let sops = located.map(\.sop)
        let seriesUIDs = Array(Set(located.map(\.series)))
        let now = now()
        let records = caller.agent.map { agent in
            [AuditRecord(
                agent: agent, kind: .dicom(.studyDeleted), action: .delete, entities: ["\(Self.resourceType)/\(study)"],
                patients: patient.map { [$0] } ?? [], detail: "\(sops.count) instance(s) deleted")]
        } ?? []
        _ = try await fhir.transaction(HygieResources.transaction([]), as: .system(tenant), audit: records) { database in
            try await self.markDeleted(sops: sops, series: seriesUIDs, study: study, tenant: tenant, now: now, on: database)
        }
        cache.invalidate(study: study, tenant: tenant)
        await syncImagingStudies([study], tenant: tenant)
    }

    /// Marks instances of one study deleted, with their counts, the series and study left
    /// empty, and the study's ImagingStudy owed a rewrite.
    func markDeleted(sops: [String], series: [String], study: String, tenant: TenantID, now: Int64, on database: any SQLDatabase) async throws {
        let t = tenant.rawValue
        for chunk in sops.chunks(of: 500) {
            try await database.raw(
                "UPDATE dicom_instances SET deleted_at = \(bind: now) WHERE tenant_id = \(bind: t) AND sop_uid IN (\(binds: chunk))"
            ).run()
        }
        try await recount(studies: [], series: series, tenant: tenant, on: database)
        try await database.raw(
            "UPDATE dicom_series SET deleted_at = \(bind: now) WHERE tenant_id = \(bind: t) AND series_uid IN (\(binds: series)) AND instance_count = 0"
        ).run()
        try await recount(studies: [study], series: [], tenant: tenant, on: database)
        try await database.raw(
            "UPDATE dicom_studies SET change_seq = change_seq + 1 WHERE tenant_id = \(bind: t) AND study_uid = \(bind: study)"
        ).run()
        try await database.raw(
            "UPDATE dicom_studies SET deleted_at = \(bind: now) WHERE tenant_id = \(bind: t) AND study_uid = \(bind: study) AND instance_count = 0"
        ).run()
    }
}
