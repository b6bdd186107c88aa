import Access
import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Imaging
import Logging
import NIOCore

/// DICOMweb at `/dicomweb` (DICOM PS3.18): QIDO-RS, WADO-RS, STOW-RS and WADO-URI. Every call
/// is authenticated (Bearer token or web session) and answered within the caller's grants:
/// what they may not see does not exist for them (404). DICOM payloads are never compressed.
struct DICOMwebController {
    let imaging: ImagingService
    let identity: IdentityService
    let tenant: TenantID
    /// Origins allowed to call from a browser (an OHIF on another host); empty: none.
    let corsOrigins: [String]
    let maximumUploadSize: Int
    /// The server's public base URL; RetrieveURL and BulkDataURI values start with it.
    let publicBaseURL: String
    let logger: Logger

    func addRoutes(to router: Router<AppRequestContext>) {
        for method in [HTTPRequest.Method.get, .post, .delete, .options] {
            router.on("/dicomweb/**", method: method, use: handle)
        }
    }

    @Sendable func handle(_ request: Request, context: AppRequestContext) async -> Response {
        var response: Response
        do {
            if request.method == .options {
                response = Response(status: .noContent)
            } else {
                let (caller, study) = try await authenticate(request, context)
                if let study { try Self.check(request, within: study) }
                response = try await route(request, context: context, caller: caller, viewerStudy: study)
            }
        } catch let error as ServiceError {
            response = problem(error.status, error.code, error.message)
        } catch let error as DICOMError {
            response = problem(406, "not-acceptable", error.description)
        } catch {
            logger.error("DICOMweb request failed", metadata: ["request_id": "\(context.requestID)", "error": "\(String(reflecting: error))"])
            response = problem(500, "internal", "The server failed to process the request (request id \(context.requestID)).")
        }
        addCORS(request, &response)
        return response
    }

    /// The caller, and for a viewer session the one study it opens (read-only).
    func authenticate(_ request: Request, _ context: AppRequestContext) async throws -> (Caller, viewerStudy: String?) {
        if let token = request.bearerToken {
            if token.hasPrefix(ImagingService.viewerTokenPrefix) {
                guard let grant = try await imaging.viewerGrant(token: token, tenant: tenant),
                      let account = try await identity.account(AccountID(grant.account), tenant: tenant), account.active, !account.mustChangePassword
                else { throw ServiceError.unauthenticated }
                let principal = account.principal(address: context.remoteAddress, breakGlass: try await identity.breakGlassPatients(account))
                return (Policy.caller(principal), grant.study)
            }
            guard let (principal, account) = try await identity.principal(accessToken: token, address: context.remoteAddress)
            else { throw ServiceError.unauthenticated }
            if account?.mustChangePassword == true { throw ServiceError(403, "password-change-required", "Choose a new password first.") }
            return (Policy.caller(principal), nil)
        }
        if let cookie = request.cookies[WebController.sessionCookie]?.value, let session = try await identity.webSession(cookie: cookie, tenant: tenant),
            !session.account.mustChangePassword
        {
            let principal = session.account.principal(address: context.remoteAddress, breakGlass: try await identity.breakGlassPatients(session.account))
            return (Policy.caller(principal), nil)
        }
        throw ServiceError.unauthenticated
    }

    /// A viewer session reads its own study and nothing else: other studies do not exist for it
    /// (404) and nothing may be written (403).
    static func check(_ request: Request, within study: String) throws {
        guard request.method == .get else { throw ServiceError(403, "forbidden", "A viewer session only reads images.") }
        let segments = request.uri.path.split(separator: "/").dropFirst().map { QueryString.percentDecode(String($0)) }
        if segments == ["wado"] {
            let asked = QueryString.parse(request.uri.query ?? "").first { $0.0 == "studyUID" }?.1
            guard asked == study else { throw ServiceError.notFound("Study \(asked ?? "")") }
            return
        }
        // Searches across studies are scoped by `route`; any path naming a study must name this one.
        if segments.count >= 2, segments[0] == "studies", segments[1] != study { throw ServiceError.notFound("Study \(segments[1])") }
    }

    func route(_ request: Request, context: AppRequestContext, caller: Caller, viewerStudy: String?) async throws -> Response {
        let segments = request.uri.path.split(separator: "/").dropFirst().map { QueryString.percentDecode(String($0)) }
        let query = QueryString.parse(request.uri.query ?? "")
        let base = baseURL(request)
        if segments == ["wado"] { return try await wadoURI(query, caller: caller) }
        let path = DICOMwebPath(segments)
        switch (request.method, path) {
        case (.post, .studies(let study)):
            return try await stow(request, context: context, study: study, caller: caller, base: base)
        case (.get, .studies(nil)), (.get, .search):
            var level = QueryLevel.study
            var study: String?
            var series: String?
            if case .search(let searchLevel, let inStudy, let inSeries) = path { (level, study, series) = (searchLevel, inStudy, inSeries) }
            if let viewerStudy { study = viewerStudy }
            let parsed = try QIDOQuery(level: level, study: study, series: series, parameters: query)
            let results = try await imaging.search(parsed, caller: caller, retrieveBase: base)
            return dicomJSON(DICOMJSON.encodeArray(results), empty: results.isEmpty)
        case (.get, .studies(let study?)):
            return try await retrieve(request, study: study, caller: caller)
        case (.get, .series(let study, let series)):
            return try await retrieve(request, study: study, series: series, caller: caller)
        case (.get, .instance(let study, let series, let sop)):
            return try await retrieve(request, study: study, series: series, sop: sop, caller: caller)
        case (.get, .metadata(let study, let series, let sop)):
            let located = try await imaging.locate(study: study, series: series, sop: sop, caller: caller)
            return dicomJSON(try await imaging.metadata(located, tenant: caller.tenant, base: base), empty: false)
        case (.get, .frames(let study, let series, let sop, let list)):
            return try await frames(request, study: study, series: series, sop: sop, list: list, caller: caller)
        case (.get, .bulkdata(let study, let series, let sop, let tag)):
            return try await bulkdata(study: study, series: series, sop: sop, tag: tag, caller: caller)
        case (.get, .rendered(let study, let series, let sop, let frame, let thumbnail)):
            return try await rendered(request, query: query, study: study, series: series, sop: sop, frame: frame, thumbnail: thumbnail, caller: caller)
        case (.delete, .studies(let study?)):
            try await imaging.delete(study: study, caller: caller)
            return Response(status: .noContent)
        case (.delete, .series(let study, let series)):
            try await imaging.delete(study: study, series: series, caller: caller)
            return Response(status: .noContent)
        case (.delete, .instance(let study, let series, let sop)):
            try await imaging.delete(study: study, series: series, sop: sop, caller: caller)
            return Response(status: .noContent)
        default:
            throw ServiceError.notFound("The DICOMweb resource \(request.uri.path)")
        }
    }

    /// The DICOMweb base URL (for RetrieveURL and BulkDataURI).
    func baseURL(_ request: Request) -> String { publicBaseURL + "/dicomweb" }

    func dicomJSON(_ bytes: [UInt8], empty: Bool) -> Response {
        if empty { return Response(status: .noContent, headers: [.cacheControl: "no-store"]) }
        return Response(
            status: .ok, headers: [.contentType: "application/dicom+json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func problem(_ status: Int, _ code: String, _ detail: String) -> Response {
        ProblemResponse.make(status, code: code, detail: detail)
    }

    func addCORS(_ request: Request, _ response: inout Response) {
        guard let origin = request.headers[.origin], corsOrigins.contains(origin) || corsOrigins.contains("*") else { return }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlAllowCredentials] = "true"
        response.headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
        response.headers[.accessControlAllowHeaders] = "Authorization, Accept, Content-Type"
        response.headers[.vary] = "Origin"
    }
}

/// The resources of PS3.18 §10 that `/dicomweb/…` paths name.
enum DICOMwebPath: Equatable {
    case studies(String?)
    case series(String, String)
    case instance(String, String, String)
    case search(QueryLevel, study: String?, series: String?)
    case metadata(String, String?, String?)
    case frames(String, String, String, String)
    case bulkdata(String, String, String, String)
    case rendered(String, String?, String?, frame: Int?, thumbnail: Bool)
    case unknown

    init(_ s: [String]) {
        switch s.count {
        case 1 where s[0] == "studies": self = .studies(nil)
        case 1 where s[0] == "series": self = .search(.series, study: nil, series: nil)
        case 1 where s[0] == "instances": self = .search(.instance, study: nil, series: nil)
        case 2 where s[0] == "studies": self = .studies(s[1])
        case 3 where s[0] == "studies" && s[2] == "series": self = .search(.series, study: s[1], series: nil)
        case 3 where s[0] == "studies" && s[2] == "instances": self = .search(.instance, study: s[1], series: nil)
        case 3 where s[0] == "studies" && s[2] == "metadata": self = .metadata(s[1], nil, nil)
        case 3 where s[0] == "studies" && (s[2] == "rendered" || s[2] == "thumbnail"): self = .rendered(s[1], nil, nil, frame: nil, thumbnail: s[2] == "thumbnail")
        case 4 where s[0] == "studies" && s[2] == "series": self = .series(s[1], s[3])
        case 5 where s[0] == "studies" && s[2] == "series" && s[4] == "instances": self = .search(.instance, study: s[1], series: s[3])
        case 5 where s[0] == "studies" && s[2] == "series" && s[4] == "metadata": self = .metadata(s[1], s[3], nil)
        case 5 where s[0] == "studies" && s[2] == "series" && (s[4] == "rendered" || s[4] == "thumbnail"):
            self = .rendered(s[1], s[3], nil, frame: nil, thumbnail: s[4] == "thumbnail")
        case 6 where s[0] == "studies" && s[2] == "series" && s[4] == "instances": self = .instance(s[1], s[3], s[5])
        case 7 where s[0] == "studies" && s[2] == "series" && s[4] == "instances" && s[6] == "metadata": self = .metadata(s[1], s[3], s[5])
        case 7 where s[0] == "studies" && s[2] == "series" && s[4] == "instances" && (s[6] == "rendered" || s[6] == "thumbnail"):
            self = .rendered(s[1], s[3], s[5], frame: nil, thumbnail: s[6] == "thumbnail")
        case 8 where s[0] == "studies" && s[2] == "series" && s[4] == "instances" && s[6] == "frames": self = .frames(s[1], s[3], s[5], s[7])
        case 8 where s[0] == "studies" && s[2] == "series" && s[4] == "instances" && s[6] == "bulkdata": self = .bulkdata(s[1], s[3], s[5], s[7])
        case 9 where s[0] == "studies" && s[6] == "frames" && (s[8] == "rendered" || s[8] == "thumbnail"):
            self = Int(s[7]).map { .rendered(s[1], s[3], s[5], frame: $0, thumbnail: s[8] == "thumbnail") } ?? .unknown
        default: self = .unknown
        }
    }
}
