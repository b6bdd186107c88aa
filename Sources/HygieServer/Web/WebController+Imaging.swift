import Access
import Core
import DICOM
import FHIRStore
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Imaging
import Logging
import NIOCore

/// The images pages: the study list (a patient's, or all the caller may see) with the upload
/// area for those who may file images, and the built-in viewer, which reads DICOMweb with a
/// viewer session token opened here.
extension WebController {
    func addImagingRoutes(to router: Router<AppRequestContext>) {
        router.get("/imaging", use: page { request, context in
            try await signedIn(request, context) { session in try await imagingPage(request, session, context) }
        })
        router.post("/imaging/open", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let caller = try await webCaller(session, context)
                do {
                    let opened = try await imaging.openViewerSession(study: form["study"] ?? "", account: session.account.id.rawValue, caller: caller)
                    return Response.redirect(to: "/viewer#study=\(opened.study)&token=\(opened.token)", type: .found)
                } catch let error as ServiceError where error.status == 404 {
                    return errorPage(request, session, "error_not_found", .notFound)
                }
            }
        })
        // With an S3 store: the study is published and the browser sent straight to the store.
        router.post("/imaging/download", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                do {
                    let published = try await imaging.publishDownload(study: form["study"] ?? "", caller: try await webCaller(session, context))
                    return Response.redirect(to: published.url, type: .normal)
                } catch let error as ServiceError {
                    switch error.status {
                    case 404: return errorPage(request, session, "error_not_found", .notFound)
                    case 413: return errorPage(request, session, "error_download_too_large", .contentTooLarge)
                    default: return errorPage(request, session, "error_download_failed", .conflict)
                    }
                } catch {
                    logger.error("publishing a download failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                    return errorPage(request, session, "error_download_failed", .badGateway)
                }
            }
        })
        // The upload area sends one file per request with the session's CSRF token in a header.
        router.post("/imaging/upload", use: page { request, context in
            try await signedIn(request, context) { session in
                guard request.headers[HTTPField.Name("X-CSRF-Token")!] == session.csrfToken else {
                    return ProblemResponse.make(403, code: "csrf", detail: "The page's CSRF token is missing or stale: reload the page.")
                }
                let limit = imaging.maximumInstanceSize
                let body: ByteBuffer
                do { body = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError {
                    return ProblemResponse.make(413, code: "too-large", detail: "A DICOM file may be at most \(limit) bytes.")
                }
                let patient = request.uri.queryParameters["patient"].map(String.init)
                let result = await imaging.store(
                    [Array(body.readableBytesView)], target: StoreTarget(caller: try await webCaller(session, context), patient: patient))
                let view = UploadView(result)
                let data = try JSONEncoder().encode(view)
                return Response(
                    status: view.failed.isEmpty ? .created : .unprocessableContent, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
            }
        })
        router.get("/imaging/unmatched", use: page { request, context in
            try await signedIn(request, context) { session in try await unmatchedPage(request, session) }
        })
        router.post("/imaging/unmatched/assign", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                guard let hospital = session.account.hospital, session.account.role == .radiotherapyTechnologist else {
                    return errorPage(request, session, "error_forbidden", .forbidden)
                }
                do {
                    try await imaging.reconcile(
                        study: form["study"] ?? "", patient: (form["patient"] ?? "").trimmingCharacters(in: .whitespaces), hospital: hospital,
                        caller: try await webCaller(session, context))
                } catch let error as ServiceError {
                    return try await unmatchedPage(request, session, error: message(error, request))
                }
                return Response.redirect(to: "/imaging/unmatched?done=1", type: .found)
            }
        })
        router.get("/viewer", use: page { request, _ in
            // The page holds no data: the viewer session token in the URL fragment opens the study.
            render("viewer", title: "viewer_title", request, session: nil, ["viewer": true])
        })
    }

    func webCaller(_ session: WebSession, _ context: AppRequestContext) async throws -> Caller {
        Policy.caller(session.account.principal(address: context.remoteAddress, breakGlass: try await identity.breakGlassPatients(session.account)))
    }

    func imagingPage(_ request: Request, _ session: WebSession, _ context: AppRequestContext) async throws -> Response {
        let caller = try await webCaller(session, context)
        let parameters = request.uri.queryParameters
        let text = parameters["q"].map(String.init) ?? ""
        let patient = parameters["patient"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let offset = parameters["cursor"].flatMap { Int(String($0)) }.map { max(0, $0) } ?? 0
        var query = try QIDOQuery(level: .study, parameters: text.isEmpty ? [] : [("PatientName", text), ("fuzzymatching", "true")])
        query.patient = patient
        query.limit = Self.studiesPerPage + 1
        query.offset = offset
        let studies = try await imaging.studies(query, caller: caller)
        let rows: [[String: Any]] = studies.prefix(Self.studiesPerPage).map { study in
            [
                "uid": study.uid, "patientName": study.patientName.replacingOccurrences(of: "^", with: " "), "patient": study.patient ?? "",
                "date": Self.displayDate(study.date), "description": study.description, "modalities": study.modalities.joined(separator: ", "),
                "series": study.seriesCount, "instances": study.instanceCount,
            ]
        }
        var canUpload = false
        if let patient { canUpload = try await imaging.mayFile(patient: patient, caller: caller) }
        var next: String?
        if studies.count > Self.studiesPerPage {
            let parameters: [(String, String)] = [("q", text), ("patient", patient ?? ""), ("cursor", String(offset + Self.studiesPerPage))]
            let encoded: [String] = parameters.filter { !$0.1.isEmpty }.map { name, value in "\(name)=\(QueryString.encodeComponent(value))" }
            next = "/imaging?" + encoded.joined(separator: "&")
        }
        return render(
            "imaging", title: "imaging_title", request, session: session,
            ["studies": rows, "query": text, "patient": patient ?? "", "canUpload": canUpload, "canDownload": imaging.publishesDownloads, "next": next as Any])
    }

    /// The studies held for the technologist's hospital, each with a form to file it under a
    /// patient.
    func unmatchedPage(_ request: Request, _ session: WebSession, error: String? = nil) async throws -> Response {
        guard let hospital = session.account.hospital, session.account.role == .radiotherapyTechnologist else {
            return errorPage(request, session, "error_forbidden", .forbidden)
        }
        let held = try await imaging.unmatchedStudies(hospital: hospital, tenant: session.account.tenant)
        let rows: [[String: Any]] = held.map { study in
            [
                "uid": study.uid, "patientName": study.patientName.replacingOccurrences(of: "^", with: " "), "patientId": study.patientId,
                "date": Self.displayDate(study.date), "description": study.description, "instances": study.instanceCount,
            ]
        }
        let flash = request.uri.queryParameters["done"] != nil ? renderer.text("unmatched_done", WebRenderer.language(request)) : nil
        return render("unmatched", title: "unmatched_title", request, session: session, ["studies": rows], error: error, flash: flash)
    }

    static let studiesPerPage = 20

    /// YYYYMMDD as YYYY-MM-DD.
    static func displayDate(_ date: String) -> String {
        guard date.count == 8 else { return date }
        let characters = Array(date)
        return "\(String(characters[0..<4]))-\(String(characters[4..<6]))-\(String(characters[6..<8]))"
    }
}
