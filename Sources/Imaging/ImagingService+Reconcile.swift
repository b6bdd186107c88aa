import Core
import FHIR
import FHIRStore
import Foundation
import SQLKit
import Storage

extension ImagingService {
    /// The studies held under `hospital` because no patient matched them, newest first.
    public func unmatchedStudies(hospital: String, tenant: TenantID) async throws -> [StudyListing] {
        try await database.read { database in
            try await database.raw(
                """
                SELECT s.* FROM dicom_studies s WHERE s.tenant_id = \(bind: tenant.rawValue) AND s.hospital_ref = \(bind: hospital)
                AND s.patient_ref IS NULL AND s.deleted_at IS NULL ORDER BY s.created_at DESC, s.study_uid LIMIT 500
                """
            ).all()
        }.map(Self.listing)
    }

    /// Files a held study under `patient`: the study must be held under the technologist's
    /// `hospital` (404 otherwise: other hospitals' images are not disclosed) and the caller
    /// allowed to add images to the patient's record (403). Audited as a Patient Record
    /// update; the ImagingStudy is written before this returns.
    public func reconcile(study: String, patient: String, hospital: String, caller: Caller) async throws {
        let tenant = caller.tenant
        let t = tenant.rawValue
        let held = try await database.read { database in
            try await database.raw(
                """
                SELECT study_uid FROM dicom_studies WHERE tenant_id = \(bind: t) AND study_uid = \(bind: study) AND hospital_ref = \(bind: hospital)
                AND patient_ref IS NULL AND deleted_at IS NULL
                """
            ).first()
        }
        guard held != nil else { throw ServiceError.notFound("Held study \(study)") }
        guard try await fhir.mayWrite(type: Self.resourceType, patients: [patient], caller: caller) else {
            throw ServiceError(403, "forbidden", "You may not add images to this patient's record.")
        }
        guard let found = try? await fhir.read("Patient", patient, as: .system(tenant)), !found.isDeleted else {
            throw ServiceError.notFound("Patient \(patient)")
        }
        let records = caller.agent.map { agent in
            [AuditRecord(
                agent: agent, kind: .dicom(.patientRecord), action: .update, entities: ["\(Self.resourceType)/\(study)"], patients: [patient],
                detail: "held study filed under the patient")]
        } ?? []
        _ = try await fhir.transaction(HygieResources.transaction([]), as: .system(tenant), audit: records) { database in
            try await database.raw(
                """
                UPDATE dicom_studies SET patient_ref = \(bind: patient), hospital_ref = NULL, change_seq = change_seq + 1
                WHERE tenant_id = \(bind: t) AND study_uid = \(bind: study) AND patient_ref IS NULL
                """
            ).run()
        }
        cache.invalidate(study: study, tenant: tenant)
        await syncImagingStudies([study], tenant: tenant)
    }
}
