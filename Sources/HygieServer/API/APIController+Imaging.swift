import Access
import Core
import DICOM
import DIMSE
import FHIR
import FHIRStore
import Foundation
import Hummingbird
import Identity
import Imaging
import NIOCore

/// `/api/v1/imaging`: the archive seen from the application: lists and details of studies,
/// uploads from the web page, deletes, viewer links, the OHIF data source and PACS imports.
/// The images themselves are served by DICOMweb (`/dicomweb`), under the same access rules.
extension APIController {
    func addImagingRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("imaging/studies", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            let parameters = request.uri.queryParameters
            var matches: [(String, String)] = []
            if let text = parameters["q"].map(String.init), !text.isEmpty { matches += [("PatientName", text), ("fuzzymatching", "true")] }
            if let modality = parameters["modality"].map(String.init), !modality.isEmpty { matches.append(("ModalitiesInStudy", modality)) }
            let from = parameters["from"].map { String($0).filter(\.isNumber) } ?? ""
            let to = parameters["to"].map { String($0).filter(\.isNumber) } ?? ""
            if !from.isEmpty || !to.isEmpty { matches.append(("StudyDate", "\(from)-\(to)")) }
            var query = try QIDOQuery(level: .study, parameters: matches)
            query.patient = parameters["patient"].map(String.init)
            let limit = try queryLimit(parameters["limit"])
            let offset = try parameters["cursor"].map { value -> Int in
                guard let offset = Int(value), offset >= 0 else { throw ServiceError.invalid("cursor must come from next_cursor.") }
                return offset
            } ?? 0
            query.limit = limit + 1
            query.offset = offset
            let studies = try await imaging.studies(query, caller: caller)
            return try json(PageView(items: Array(studies.prefix(limit)), next_cursor: studies.count > limit ? String(offset + limit) : nil))
        })
        api.get("imaging/studies/:uid", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            let (study, series) = try await imaging.study(try context.parameters.require("uid"), caller: caller)
            return try json(StudyDetailsView(study: study, series: series))
        })
        api.delete("imaging/studies/:uid", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            try await imaging.delete(study: try context.parameters.require("uid"), caller: caller)
            return Response(status: .noContent)
        })
        api.delete("imaging/studies/:uid/series/:series", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            try await imaging.delete(study: try context.parameters.require("uid"), series: try context.parameters.require("series"), caller: caller)
            return Response(status: .noContent)
        })
        // One Part 10 file per request (the web page sends several, showing each one's progress).
        api.post("imaging/upload", use: wrap { request, context in
            let principal = try await principal(request, context)
            let limit = imaging.maximumInstanceSize
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw Self.uploadTooLarge(limit) }
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: limit) } catch is NIOTooManyBytesError { throw Self.uploadTooLarge(limit) }
            let patient = request.uri.queryParameters["patient"].map(String.init)
            let result = await imaging.store([Array(body.readableBytesView)], target: StoreTarget(caller: Policy.caller(principal), patient: patient))
            let view = UploadView(result)
            return try json(view, status: view.failed.isEmpty ? .created : view.failed.contains { $0.status == "0124" } ? .forbidden : .unprocessableContent)
        })
        // Anonymised copies (PS3.15 basic profile) for attaching to messages and comments.
        api.get("imaging/studies/:uid/series/:series/anonymized", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            return Self.download(try await imaging.anonymizedExport(
                study: try context.parameters.require("uid"), series: try context.parameters.require("series"), caller: caller))
        })
        api.get("imaging/studies/:uid/series/:series/instances/:sop/anonymized", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            return Self.download(try await imaging.anonymizedExport(
                study: try context.parameters.require("uid"), series: try context.parameters.require("series"),
                sop: try context.parameters.require("sop"), caller: caller))
        })
        api.post("imaging/studies/:uid/viewer-url", use: wrap { request, context in
            let principal = try await principal(request, context)
            let study = try context.parameters.require("uid")
            let session = try await imaging.openViewerSession(study: study, account: principal.account, caller: Policy.caller(principal))
            let expires = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(session.expiresAt) / 1000))
            if let ohif = viewerLinks.ohifURL {
                let separator = ohif.contains("?") ? "&" : "?"
                return try json(ViewerURLView(url: "\(ohif)\(separator)StudyInstanceUIDs=\(study)", viewer: "ohif", token: session.token, expires: expires), status: .created)
            }
            let url = "\(viewerLinks.publicBaseURL)/viewer#study=\(study)&token=\(session.token)"
            return try json(ViewerURLView(url: url, viewer: "built-in", token: session.token, expires: expires), status: .created)
        })
        // Time-limited links straight to the object store (S3-compatible store only): the
        // browser downloads from it, not through Hygie.
        api.post("imaging/studies/:uid/download-url", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            return try json(DownloadURLView(try await imaging.publishDownload(study: try context.parameters.require("uid"), caller: caller)), status: .created)
        })
        api.post("imaging/studies/:uid/series/:series/download-url", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            let published = try await imaging.publishDownload(
                study: try context.parameters.require("uid"), series: try context.parameters.require("series"), caller: caller)
            return try json(DownloadURLView(published), status: .created)
        })
        api.post("imaging/studies/:uid/series/:series/instances/:sop/download-url", use: wrap { request, context in
            let caller = Policy.caller(try await principal(request, context))
            let published = try await imaging.publishDownload(
                study: try context.parameters.require("uid"), series: try context.parameters.require("series"),
                sop: try context.parameters.require("sop"), caller: caller)
            return try json(DownloadURLView(published), status: .created)
        })
        api.get("imaging/ohif-config", use: wrap { request, context in
            _ = try await principal(request, context)
            return try json(OHIFDataSource(base: viewerLinks.publicBaseURL + "/dicomweb"))
        })
        // Studies no patient matched, held for the technologists of the hospital that received them.
        api.get("imaging/unmatched", use: wrap { request, context in
            let principal = try await principal(request, context)
            let hospital = try Self.reconciler(principal)
            let held = try await imaging.unmatchedStudies(hospital: hospital, tenant: principal.tenant)
            return try json(ListView(items: held, total: held.count))
        })
        api.post("imaging/unmatched/:uid/assign", use: wrap { request, context in
            let principal = try await principal(request, context)
            let hospital = try Self.reconciler(principal)
            let body = try await decode(AssignBody.self, request, context)
            try await imaging.reconcile(study: try context.parameters.require("uid"), patient: body.patient, hospital: hospital, caller: Policy.caller(principal))
            return Response(status: .noContent)
        })
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

    /// Reconciliation is the technologists' work, within their hospital.
    static func reconciler(_ principal: Principal) throws -> String {
        guard principal.role == .radiotherapyTechnologist, let hospital = principal.hospital else {
            throw ServiceError(403, "forbidden", "Held images are reconciled by the technologists of the hospital that received them.")
        }
        return hospital
    }

    static func download(_ export: AnonymizedExport) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: export.mediaType, .contentDisposition: "attachment; filename=\"\(export.filename)\"", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: export.bytes)))
    }

    static func uploadTooLarge(_ limit: Int) -> ServiceError {
        ServiceError(413, "too-large", "A DICOM file may be at most \(limit) bytes.")
    }
}

/// Where viewer links point.
struct ViewerLinks: Sendable {
    var publicBaseURL: String
    /// A configured OHIF viewer (its `/viewer` URL); nil: the built-in viewer.
    var ohifURL: String?
}

struct AssignBody: Decodable {
    var patient: String
}

struct ImportBody: Decodable {
    var peer: String
    var patientId: String
    /// The Hygie patient to file the images under (else matched by PatientID).
    var patient: String?
}

struct StudyDetailsView: Encodable {
    var study: StudyListing
    var series: [SeriesListing]
}

struct ViewerURLView: Encodable {
    var url: String
    var viewer: String
    var token: String
    var expires: String
}

struct DownloadURLView: Encodable {
    var url: String
    var filename: String
    var instances: Int
    var expires: String

    init(_ published: PublishedDownload) {
        url = published.url
        filename = published.filename
        instances = published.instances
        expires = FHIRDateTime.instantString(epochMillis: published.expiresAt)
    }
}

struct UploadView: Encodable {
    struct Stored: Encodable { var sopInstance: String; var study: String; var series: String }
    struct Failed: Encodable { var sopInstance: String?; var status: String; var message: String }
    var stored: [Stored]
    var failed: [Failed]

    init(_ result: StoreResult) {
        stored = result.stored.map { Stored(sopInstance: $0.sopInstance, study: $0.study, series: $0.series) }
        failed = result.failed.map { Failed(sopInstance: $0.sopInstance, status: Status.hex($0.reason), message: $0.message) }
    }
}

/// An OHIF v3 data source entry (`dataSources` of its app config) for Hygie's DICOMweb.
struct OHIFDataSource: Encodable {
    struct Configuration: Encodable {
        var friendlyName = "Hygie"
        var name = "hygie"
        var wadoUriRoot: String
        var qidoRoot: String
        var wadoRoot: String
        var qidoSupportsIncludeField = true
        var supportsReject = false
        var imageRendering = "wadors"
        var thumbnailRendering = "wadors"
        var enableStudyLazyLoad = true
        var supportsFuzzyMatching = true
        var supportsWildcard = true
        var staticWado = false
        var singlepart = "bulkdata,video"
        var omitQuotationForMultipartRequest = true
    }
    var namespace = "@ohif/extension-default.dataSourcesModule.dicomweb"
    var sourceName = "hygie"
    var configuration: Configuration

    init(base: String) {
        configuration = Configuration(wadoUriRoot: base + "/wado", qidoRoot: base, wadoRoot: base)
    }
}
