import Access
import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Imaging
import Logging
import NIOCore
import Pathways
import FHIRStore
import Records
import Scheduling

/// `/api/v1`: sign-in, the caller's own account, hospitals, hospital admins, staff and
/// patient accounts. Every route but sign-in needs a Bearer access token; until an account
/// has chosen its own password, only `/auth/me`, `/auth/password` and `/auth/logout` answer.
struct APIController {
    let identity: IdentityService
    let scheduling: SchedulingService
    let records: RecordsService
    let imaging: ImagingService
    let pathways: PathwaysService
    let dicomNode: ArchiveNode
    let viewerLinks: ViewerLinks
    let store: FHIRStore
    let tenant: TenantID
    /// Seconds a break-the-glass grant lasts.
    let breakGlassDuration: Int
    let resetMail: PasswordResetMail
    let logger: Logger

    func addRoutes(to router: Router<AppRequestContext>) {
        let api = router.group("api/v1")
        api.post("auth/login", use: wrap { request, context in
            let body = try await decode(LoginBody.self, request, context)
            let pair = try await identity.login(
                username: body.username, password: body.password, code: body.totp, tenant: tenant, address: address(context))
            return try json(TokenBody(pair))
        })
        api.post("auth/refresh", use: wrap { request, context in
            let body = try await decode(RefreshBody.self, request, context)
            return try json(TokenBody(try await identity.refresh(body.refresh_token, tenant: tenant)))
        })
        api.post("auth/logout", use: wrap { request, context in
            let account = try await authenticate(request, context, allowPendingPassword: true)
            let body = try await decode(RefreshBody.self, request, context)
            try await identity.logout(refreshToken: body.refresh_token, by: account, address: address(context))
            return Response(status: .noContent)
        })
        api.post("auth/forgot", use: wrap { request, context in
            let body = try await decode(ForgotBody.self, request, context)
            try await resetMail.request(username: body.username, tenant: tenant, address: address(context), language: WebRenderer.language(request))
            return Response(status: .accepted)
        })
        api.post("auth/reset", use: wrap { request, context in
            let body = try await decode(ResetBody.self, request, context)
            try await identity.resetPassword(token: body.token, newPassword: body.new_password, tenant: tenant, address: address(context))
            return Response(status: .noContent)
        })
        api.post("auth/totp/setup", use: wrap { request, context in
            let account = try await authenticate(request, context, allowPendingPassword: true, allowPendingTOTP: true)
            guard !account.mustChangePassword else { throw IdentityError.passwordChangeRequired }
            let enrolment = try await identity.startTOTPEnrolment(account)
            return try json(["secret": enrolment.secret, "otpauth_url": enrolment.url])
        })
        api.post("auth/totp/confirm", use: wrap { request, context in
            let account = try await authenticate(request, context, allowPendingPassword: false, allowPendingTOTP: true)
            try await identity.confirmTOTP(account, code: try await decode(CodeBody.self, request, context).code, address: address(context))
            return Response(status: .noContent)
        })
        api.post("auth/totp/disable", use: wrap { request, context in
            let account = try await authenticate(request, context)
            try await identity.disableTOTP(account, password: try await decode(PasswordOnlyBody.self, request, context).password, address: address(context))
            return Response(status: .noContent)
        })
        api.put("admin/totp-requirements", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(TOTPRequirementBody.self, request, context)
            guard let role = Role(rawValue: body.role), role != .system else { throw IdentityError.invalid("Unknown role \(body.role).") }
            try await identity.requireTOTP(by: principal, role: role, required: body.required)
            return Response(status: .noContent)
        })
        api.get("auth/me", use: wrap { request, context in
            try json(AccountView(try await authenticate(request, context, allowPendingPassword: true)))
        })
        api.post("auth/password", use: wrap { request, context in
            let account = try await authenticate(request, context, allowPendingPassword: true)
            let body = try await decode(PasswordBody.self, request, context)
            try await identity.changePassword(of: account, current: body.current_password, new: body.new_password, address: address(context))
            return Response(status: .noContent)
        })

        api.get("admin/hospitals", use: wrap { request, context in
            let principal = try await principal(request, context)
            let hospitals = try await identity.hospitals(by: principal)
            return try json(ListView(items: hospitals.map(HospitalView.init), total: hospitals.count))
        })
        api.post("admin/hospitals", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(HospitalBody.self, request, context)
            let hospital = try await identity.createHospital(by: principal, name: body.name ?? "", finess: body.finess)
            return try json(HospitalView(hospital), status: .created)
        })
        api.patch("admin/hospitals/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(HospitalBody.self, request, context)
            let hospital = try await identity.updateHospital(by: principal, id: try context.parameters.require("id"), name: body.name, active: body.active)
            return try json(HospitalView(hospital))
        })
        api.delete("admin/hospitals/:id", use: wrap { request, context in
            try await identity.deleteHospital(by: try await principal(request, context), id: try context.parameters.require("id"))
            return Response(status: .noContent)
        })
        api.get("admin/hospital-admins", use: wrap { request, context in
            let principal = try await principal(request, context)
            guard Policy.permits(principal, .manageHospitalAdmins) else { throw IdentityError.forbidden }
            let accounts = try await identity.accounts(by: principal, hospital: nil)
            return try json(ListView(items: accounts.map(AccountView.init), total: accounts.count))
        })
        api.post("admin/hospital-admins", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(NewAccountBody.self, request, context)
            guard let hospital = body.hospital else { throw IdentityError.invalid("A hospital admin is bound to one hospital: name it in \"hospital\".") }
            let account = try await identity.createHospitalAdmin(by: principal, try body.account(role: .hospitalAdmin), hospital: hospital)
            return try json(AccountView(account), status: .created)
        })
        api.get("staff", use: wrap { request, context in
            let principal = try await principal(request, context)
            let hospital = request.uri.queryParameters["hospital"].map(String.init)
            let search = request.uri.queryParameters["q"].map { String($0).lowercased() }
            var accounts = try await identity.accounts(by: principal, hospital: hospital ?? principal.hospital)
            if let search, !search.isEmpty { accounts = accounts.filter { $0.username.contains(search) || ($0.email?.lowercased().contains(search) ?? false) } }
            return try json(ListView(items: accounts.map(AccountView.init), total: accounts.count))
        })
        api.post("staff", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(NewAccountBody.self, request, context)
            if body.hospital != nil { throw IdentityError.invalid("Staff are bound to your hospital automatically; do not name one.") }
            guard let code = body.role, let role = Role(rawValue: code) else {
                throw IdentityError.invalid("Give the staff member a role: \(Role.staffRoles.map(\.rawValue).joined(separator: ", ")).")
            }
            return try json(AccountView(try await identity.createStaff(by: principal, try body.account(role: role))), status: .created)
        })
        api.patch("accounts/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(AccountUpdateBody.self, request, context)
            var role: Role?
            if let code = body.role {
                guard let known = Role(rawValue: code) else { throw IdentityError.invalid("Unknown role \(code).") }
                role = known
            }
            let account = try await identity.updateAccount(
                by: principal, AccountID(try context.parameters.require("id")), email: body.email, active: body.active, role: role)
            return try json(AccountView(account))
        })
        api.delete("accounts/:id", use: wrap { request, context in
            try await identity.deleteAccount(by: try await principal(request, context), AccountID(try context.parameters.require("id")))
            return Response(status: .noContent)
        })
        api.post("admin/oauth-clients", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(ClientBody.self, request, context)
            let (client, secret) = try await identity.registerClient(
                by: principal, name: body.name, grantTypes: body.grant_types, redirectURIs: body.redirect_uris ?? [], scope: body.scope,
                confidential: body.confidential ?? true)
            return try json(ClientView(client_id: client.id, client_secret: secret, name: client.name, scope: client.scope.raw.joined(separator: " ")), status: .created)
        })
        api.get("admin/audit", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            let events = try await identity.auditEvents(
                by: principal, patient: parameters["patient"].map(String.init), account: parameters["account"].map(String.init),
                since: parameters["since"].map(String.init), count: parameters["count"].flatMap { Int(String($0)) } ?? 50)
            return try json(ListView(items: events.map(AuditEventView.init), total: events.count))
        })
        api.post("break-glass", use: wrap { request, context in
            let account = try await authenticate(request, context)
            let body = try await decode(BreakGlassBody.self, request, context)
            let expires = try await identity.breakTheGlass(
                by: account.principal(address: address(context)), account: account, patient: body.patient, reason: body.reason,
                duration: breakGlassDuration)
            return try json(["patient": body.patient, "expires": ISO8601DateFormatter().string(from: expires)], status: .created)
        })
        api.post("patients", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(NewAccountBody.self, request, context)
            let account = try await identity.createPatient(by: principal, try body.account(role: .patient), physicians: body.physicians ?? [])
            return try json(AccountView(account), status: .created)
        })
        addSchedulingRoutes(to: api)
        addRecordRoutes(to: api)
        addImagingRoutes(to: api)
        addPathwayRoutes(to: api)
    }

    // MARK: plumbing

    func address(_ context: AppRequestContext) -> String? {
        context.remoteAddress
    }

    /// The account behind the Bearer token; 401 without a valid one, 403 while its password
    /// is still the default one (unless the route is one of the few allowed then).
    func authenticate(
        _ request: Request, _ context: AppRequestContext, allowPendingPassword: Bool = false, allowPendingTOTP: Bool? = nil
    ) async throws -> Account {
        guard let token = request.bearerToken, let (account, _) = try await identity.authenticate(accessToken: token)
        else { throw IdentityError.unauthenticated }
        if account.mustChangePassword, !allowPendingPassword { throw IdentityError.passwordChangeRequired }
        if !(allowPendingTOTP ?? allowPendingPassword), try await identity.mustEnrolTOTP(account) { throw IdentityError.totpEnrolmentRequired }
        return account
    }

    func principal(_ request: Request, _ context: AppRequestContext) async throws -> Principal {
        let account = try await authenticate(request, context)
        return account.principal(address: address(context), breakGlass: try await identity.breakGlassPatients(account))
    }

    func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: AppRequestContext) async throws -> T {
        do {
            return try await request.decode(as: type, context: context)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw IdentityError(413, "too-large", "The request body is too large.")
        } catch {
            throw IdentityError.invalid("The body is not the JSON this endpoint expects (\(Self.describe(error))).")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\""
        default: "not valid JSON"
        }
    }

    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Renders errors as RFC 9457 problem details; a 5xx says nothing of its cause.
    func wrap(_ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response) -> @Sendable (Request, AppRequestContext) async -> Response {
        { request, context in
            do {
                return try await handler(request, context)
            } catch let error as IdentityError {
                return problem(error.status, code: error.code, detail: error.message, retryAfter: error.retryAfter, details: error.details)
            } catch let error as FHIRError where error.status < 500 {
                // A refusal of the store that a service did not translate: say it as it is.
                return problem(error.status, code: "refused", detail: error.issues.first?.diagnostics ?? "The request was refused.")
            } catch {
                logger.error("API request failed", metadata: ["request_id": "\(context.requestID)", "error": "\(String(reflecting: type(of: error)))"])
                return problem(500, code: "internal", detail: "The server failed to process the request (request id \(context.requestID)).")
            }
        }
    }

    func problem(_ status: Int, code: String, detail: String, retryAfter: Int? = nil, details: [String] = []) -> Response {
        ProblemResponse.make(status, code: code, detail: detail, retryAfter: retryAfter, details: details)
    }
}
