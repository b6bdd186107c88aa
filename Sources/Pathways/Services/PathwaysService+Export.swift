import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage

extension PathwaysService {
    /// The case as a FHIR Bundle (collection) for the hospital's record system: the Patient,
    /// the Task, its Provenances, checklist QuestionnaireResponses, session Procedures and the
    /// comments the asker may read.
    public func exportBundle(_ caseID: String, baseURL: String, by principal: Principal) async throws -> JSON {
        let (found, _) = try await loadCase(caseID, by: principal)
        let tenant = principal.tenant
        var resources: [StoredResource] = [
            try await fhir.read("Patient", found.patient, as: .system(tenant)), try await fhir.read("Task", caseID, as: .system(tenant)),
        ]
        resources += try await fhir.searchAll("Provenance", [("target", "Task/\(caseID)")], tenant: tenant)
        resources += try await fhir.searchAll("QuestionnaireResponse", [("identifier", "\(Self.caseSystem)|\(caseID)")], tenant: tenant)
        resources += try await fhir.searchAll("Procedure", [("identifier", "\(Self.caseSystem)|\(caseID)")], tenant: tenant)
        let readable = Set(try await readableComments(of: caseID, by: principal).map(\.id))
        resources += try await fhir.searchAll("Communication", [("identifier", "\(Self.caseSystem)|\(caseID)")], tenant: tenant).filter { readable.contains($0.id) }
        let entries: [JSON] = try resources.map { ["fullUrl": .string("\(baseURL)/\($0.type)/\($0.id)"), "resource": try $0.json()] }
        try await fhir.record(
            AuditRecord(
                agent: principal.auditAgent, kind: .dicom(.export), action: .read, entities: ["Task/\(caseID)"], patients: [found.patient],
                detail: "pathway case FHIR export"), tenant: tenant)
        return [
            "resourceType": "Bundle", "id": .string(ids.makeID()), "type": "collection", "timestamp": .string(Self.instant(now())),
            "entry": .array(entries),
        ]
    }
}
