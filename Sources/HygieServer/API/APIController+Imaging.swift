import Access
import Core
import FHIRStore
import Foundation
import Hummingbird
import Identity
import Imaging

/// `/api/v1/imaging`: the archive seen from the application (DICOMweb serves the images).
extension APIController {
    func addImagingRoutes(to api: RouterGroup<AppRequestContext>) {
        // Pulls a patient's studies from a configured PACS (C-FIND, then C-MOVE to Hygie);
        // what arrives is filed with the caller's rights, under `patient` when given.
        api.post("imaging/import", use: wrap { request, context in
            let principal = try await principal(request, context)
            guard principal.role.isStaff else { throw ServiceError(403, "forbidden", "Only staff import images.") }
            let body = try await decode(ImportBody.self, request, context)
            guard !body.patientId.isEmpty else { throw IdentityError.invalid("Name the PatientID to import.") }
            guard let peer = dicomNode.peer(body.peer) else { throw IdentityError.notFound("DICOM peer \(body.peer)") }
            let caller = Policy.caller(principal)
            if let patient = body.patient, try await !store.mayWrite(type: "ImagingStudy", patients: [patient], caller: caller) {
                throw ServiceError(403, "forbidden", "You may not add images to this patient's record.")
            }
            do {
                let summary = try await dicomNode.importStudies(
                    patientID: body.patientId, from: peer, target: StoreTarget(caller: caller, patient: body.patient))
                return try json(summary)
            } catch let error as ServiceError {
                throw error
            } catch {
                throw IdentityError(502, "peer-failed", "The PACS \(peer.aeTitle) could not be queried or did not send: \(error)")
            }
        })
    }
}

struct ImportBody: Decodable {
    var peer: String
    var patientId: String
    /// The Hygie patient to file the images under (else matched by PatientID).
    var patient: String?
}
