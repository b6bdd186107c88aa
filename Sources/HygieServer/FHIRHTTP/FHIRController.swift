import Access
import Core
import FHIR
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import Logging
import Storage

/// The FHIR REST API at `/fhir`: turns HTTP requests into FHIR interactions for the store and
/// renders the answers, with every error as an OperationOutcome (DESIGN §4).
struct FHIRController {
    let store: FHIRStore
    let identity: IdentityService
    let tenant: TenantID
    let maximumBodySize: Int
    let capabilityStatement: JSON
    let logger: Logger

    func addRoutes(to router: Router<AppRequestContext>) {
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete] {
            router.on("/fhir", method: method, use: handle)
            router.on("/fhir/**", method: method, use: handle)
        }
    }

    /// The caller behind the Bearer token, with the grants of its role and scopes. Only
    /// `/fhir/metadata` answers without one (SMART App Launch §2.1: discovery is public).
    func authenticate(_ request: Request, _ context: AppRequestContext) async throws -> Caller {
        guard let token = request.bearerToken, let (principal, account) = try await identity.principal(accessToken: token, address: context.remoteAddress)
        else {
            throw FHIRError(
                status: 401, issues: [OutcomeIssue(.error, .login, "Sign in first: this needs a valid Bearer access token.")],
                headers: ["WWW-Authenticate": "Bearer realm=\"hygie\""])
        }
        if account?.mustChangePassword == true {
            throw FHIRError(status: 403, .forbidden, "Choose a new password first; nothing else is allowed until then.")
        }
        if let account, try await identity.mustEnrolTOTP(account) {
            throw FHIRError(status: 403, .forbidden, "Your role requires a second factor: enrol one before anything else.")
        }
        return Policy.caller(principal)
    }

    @Sendable func handle(_ request: Request, context: AppRequestContext) async -> Response {
        let query = QueryString.parse(request.uri.query ?? "")
        let pretty = query.contains { $0.0 == "_pretty" && $0.1 == "true" }
        var mediaType = "application/fhir+json"
        do {
            mediaType = try ContentNegotiation.responseType(
                accept: request.headers[.accept], format: query.last { $0.0 == "_format" }?.1)
            let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).dropFirst()
                .map { QueryString.percentDecode(String($0)) }
            let target = try RequestTarget.parse(Array(segments))
            if target == .metadata {
                guard request.method == .get || request.method == .head else { throw methodNotAllowed("GET") }
                return render(FHIRResponse(status: 200, json: capabilityStatement), preference: .representation, request: request, mediaType: mediaType, pretty: pretty)
            }
            let fhirRequest = try await interaction(request, target: target, query: query)
            let caller = try await authenticate(request, context)
            let response = try await store.perform(fhirRequest, as: caller)
            if let notModified = notModified(request, response) { return notModified }
            return render(try view(response, query: query, target: target), preference: fhirRequest.returnPreference, request: request, mediaType: mediaType, pretty: pretty)
        } catch let error as FHIRError {
            return renderError(error, request: request, mediaType: mediaType, pretty: pretty)
        } catch {
            switch StorageError.classify(error) {
            case .unavailable?:
                return renderError(FHIRError(status: 503, .exception, "The database is unavailable; try again shortly."), request: request, mediaType: mediaType, pretty: pretty)
            case .timeout?:
                return renderError(
                    FHIRError(status: 503, .tooCostly, "The request ran past the query time limit and was stopped; narrow the search criteria."),
                    request: request, mediaType: mediaType, pretty: pretty)
            default:
                break
            }
            logger.error("FHIR request failed", metadata: ["request_id": "\(context.requestID)", "error": "\(String(reflecting: type(of: error)))"])
            // Engine messages can quote values from the request; only debug logs carry them.
            logger.debug("FHIR request failure detail", metadata: ["request_id": "\(context.requestID)", "detail": "\(String(reflecting: error))"])
            return renderError(
                FHIRError(status: 500, .exception, "The server failed to process the request (request id \(context.requestID))."),
                request: request, mediaType: mediaType, pretty: pretty)
        }
    }

    func methodNotAllowed(_ allow: String) -> FHIRError {
        FHIRError(status: 405, issues: [OutcomeIssue(.error, .notSupported, "Method not allowed here.")], headers: ["Allow": allow])
    }

    /// Reads headers and body into a FHIR interaction.
    func interaction(_ request: Request, target: RequestTarget, query: [(String, String)]) async throws -> FHIRRequest {
        var fhirRequest = FHIRRequest(method: request.method.rawValue, target: target, query: query)
        for value in request.headers[values: .prefer].flatMap({ $0.split(separator: ",") }) {
            let parts = value.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "return": fhirRequest.returnPreference = ReturnPreference(rawValue: parts[1]) ?? .representation
            case "handling": fhirRequest.handling = parts[1] == "strict" ? .strict : .lenient
            default: break
            }
        }
        if let ifMatch = request.headers[.ifMatch] {
            guard let version = FHIRStore.parseETag(ifMatch) else {
                throw FHIRError.invalid("If-Match must name a version, like W/\"3\".")
            }
            fhirRequest.ifMatch = version
        }
        if let ifNoneExist = request.headers[.ifNoneExist] {
            fhirRequest.ifNoneExist = QueryString.parse(ifNoneExist.hasPrefix("?") ? String(ifNoneExist.dropFirst()) : ifNoneExist)
        }
        guard ["POST", "PUT", "PATCH"].contains(fhirRequest.method) else { return fhirRequest }
        let bytes = try await body(request)
        if bytes.isEmpty {
            if case .typeSearch = target { return fhirRequest }
            if case .systemSearch = target { return fhirRequest }
            throw FHIRError.invalid("The request body is empty; send the resource as application/fhir+json.")
        }
        switch try ContentNegotiation.bodyKind(contentType: request.headers[.contentType]) {
        case .form:
            switch target {
            case .typeSearch, .systemSearch:
                fhirRequest.query += QueryString.parse(String(decoding: bytes, as: UTF8.self))
            default:
                throw FHIRError(status: 415, .notSupported, "Form bodies are only accepted by POST …/_search.")
            }
        case .jsonPatch:
            guard fhirRequest.method == "PATCH" else {
                throw FHIRError(status: 415, .notSupported, "application/json-patch+json is only accepted by PATCH.")
            }
            fhirRequest.body = .patch(try JSONPatch(try parse(bytes)))
        case .json:
            let json = try parse(bytes)
            if fhirRequest.method == "PATCH", case .array = json {
                fhirRequest.body = .patch(try JSONPatch(json))
            } else {
                fhirRequest.body = .resource(json)
            }
        }
        return fhirRequest
    }

    func body(_ request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBodySize {
            throw tooLarge()
        }
        do {
            let buffer = try await request.body.collect(upTo: maximumBodySize)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge()
        }
    }

    func tooLarge() -> FHIRError {
        FHIRError(status: 413, .tooLong, "The request body is larger than \(maximumBodySize) bytes (HYGIE_MAX_BODY_SIZE).")
    }

    func parse(_ bytes: [UInt8]) throws(FHIRError) -> JSON {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw .invalid("The body is not valid JSON: \(error.description).")
        }
    }

    /// `If-None-Match` and `If-Modified-Since` on reads (FHIR R4 §3.1.0.2 conditional read).
    func notModified(_ request: Request, _ response: FHIRResponse) -> Response? {
        guard request.method == .get || request.method == .head, let resource = response.resource else { return nil }
        var headers = HTTPFields()
        headers[.eTag] = resource.etag
        if let ifNoneMatch = request.headers[.ifNoneMatch] {
            let tags = ifNoneMatch.split(separator: ",").map { FHIRStore.parseETag(String($0)) }
            if tags.contains(resource.version) || ifNoneMatch.trimmingCharacters(in: .whitespaces) == "*" {
                return Response(status: .notModified, headers: headers)
            }
        } else if let since = request.headers[.ifModifiedSince].flatMap(FHIRDateTime.parseHTTPDate), resource.lastUpdated / 1000 * 1000 <= since {
            return Response(status: .notModified, headers: headers)
        }
        return nil
    }

    /// `_summary` / `_elements` on a read.
    func view(_ response: FHIRResponse, query: [(String, String)], target: RequestTarget) throws -> FHIRResponse {
        guard let resource = response.resource, !resource.isDeleted else { return response }
        switch target {
        case .instance, .version: break
        default: return response
        }
        if let elements = query.last(where: { $0.0 == "_elements" })?.1 {
            var reduced = response
            reduced.json = ResourceView.elements(try resource.json(), keep: elements.split(separator: ",").map(String.init))
            reduced.resource = nil
            return reduced
        }
        if let text = query.last(where: { $0.0 == "_summary" })?.1 {
            guard let mode = SummaryMode(rawValue: text) else { throw FHIRError.invalid("_summary must be true, false, text, data or count.") }
            guard mode != .false, mode != .count else { return response }
            var reduced = response
            reduced.json = ResourceView.summary(try resource.json(), mode: mode)
            reduced.resource = nil
            return reduced
        }
        return response
    }

    func render(_ response: FHIRResponse, preference: ReturnPreference, request: Request, mediaType: String, pretty: Bool) -> Response {
        var headers = HTTPFields()
        if let etag = response.etag { headers[.eTag] = etag }
        if let lastModified = response.lastModified { headers[.lastModified] = FHIRDateTime.httpDate(epochMillis: lastModified) }
        if let location = response.location {
            let absolute = "\(store.baseURL)/\(location)"
            headers[.location] = absolute
            if response.status == 201 { headers[.contentLocation] = absolute }
        }
        let isWrite = ["POST", "PUT", "PATCH", "DELETE"].contains(request.method.rawValue)
        let body = response.body(for: isWrite ? preference : .representation)
        let status = HTTPResponse.Status(code: response.status)
        guard let body, status != .noContent else { return Response(status: status, headers: headers) }
        headers[.contentType] = "\(mediaType); charset=utf-8"
        let bytes = JSONWriter.bytes(body, pretty: pretty)
        if request.method == .head {
            headers[.contentLength] = String(bytes.count)
            return Response(status: status, headers: headers)
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func renderError(_ error: FHIRError, request: Request, mediaType: String, pretty: Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/fhir+json; charset=utf-8"
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let bytes = JSONWriter.bytes(OperationOutcome.resource(error.issues), pretty: pretty)
        return Response(status: HTTPResponse.Status(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
