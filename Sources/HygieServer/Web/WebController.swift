import Access
import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Imaging
import Logging
import Pathways
import NIOCore
import Records
import Scheduling

/// The web app's shell: sign-in, the forced first password change, sign-out, the home page of
/// each role, and the plumbing every page shares (session cookie, CSRF tokens, language,
/// navigation, error pages). Administrative pages are in `WebController+Admin.swift`.
struct WebController: Sendable {
    let identity: IdentityService
    let scheduling: SchedulingService
    let records: RecordsService
    let imaging: ImagingService
    let pathways: PathwaysService
    let renderer: WebRenderer
    let tenant: TenantID
    /// Cookies get `Secure` when the public URL is https.
    let secureCookies: Bool
    let resetMail: PasswordResetMail
    let logger: Logger

    static let sessionCookie = "hygie_session"
    static let loginCookie = "hygie_login"
    static let seenNoticesCookie = "hygie_notices_seen"

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/static/:file") { _, context in renderer.asset(context.parameters.get("file") ?? "") }
        router.get("/login", use: page(loginPage))
        router.post("/login", use: page(login))
        router.post("/logout", use: page(logout))
        router.get("/password", use: page { request, context in try await signedIn(request, context) { session in try await passwordPage(request, session) } })
        router.post("/password", use: page(changePassword))
        router.get("/", use: page { request, context in try await signedIn(request, context) { session in home(request, session) } })
        addAdminRoutes(to: router)
        addOAuthRoutes(to: router)
        addPasswordResetRoutes(to: router)
        addCareRoutes(to: router)
        addImagingRoutes(to: router)
        addPathwayRoutes(to: router)
        addPathwayAdminPages(to: router)
        router.post("/account/totp/setup", use: page { request, context in
            try await signedIn(request, context, form: true) { session, _ in
                try await passwordPage(request, session, enrolment: try await identity.startTOTPEnrolment(session.account))
            }
        })
        router.post("/account/totp/confirm", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                do {
                    try await identity.confirmTOTP(session.account, code: form["code"] ?? "", address: context.remoteAddress)
                } catch let error as IdentityError {
                    return try await passwordPage(request, session, error: message(error, request))
                }
                var updated = session
                updated.account.totpEnabled = true
                return try await passwordPage(request, updated, flash: renderer.text("totp_enabled_flash", WebRenderer.language(request)))
            }
        })
        router.post("/account/totp/disable", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                do {
                    try await identity.disableTOTP(session.account, password: form["password"] ?? "", address: context.remoteAddress)
                } catch let error as IdentityError {
                    return try await passwordPage(request, session, error: message(error, request))
                }
                var updated = session
                updated.account.totpEnabled = false
                return try await passwordPage(request, updated, flash: renderer.text("totp_disabled_flash", WebRenderer.language(request)))
            }
        })
    }

    // MARK: pages

    func loginPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let token = IdentityService.randomToken()
        var response = render(
            "login", title: "login_title", request, session: nil,
            ["csrf": token, "next": Self.safeNext(request.uri.queryParameters["next"].map(String.init))])
        response.setCookie(cookie(Self.loginCookie, token, maxAge: 3600))
        return response
    }

    func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let token = request.cookies[Self.loginCookie]?.value, form["_csrf"] == token else { return errorPage(request, nil, "error_csrf", .forbidden) }
        let next = Self.safeNext(form["next"])
        do {
            let (cookie, session) = try await identity.startWebSession(
                username: form["username"] ?? "", password: form["password"] ?? "", code: form["code"], tenant: tenant, address: context.remoteAddress)
            var response = Response.redirect(to: session.account.mustChangePassword ? "/password" : next, type: .found)
            response.setCookie(self.cookie(Self.sessionCookie, cookie, maxAge: Int(IdentityService.sessionAbsoluteTimeout)))
            response.setCookie(self.cookie(Self.loginCookie, "", maxAge: 0))
            return response
        } catch let error as IdentityError {
            var response = render(
                "login", title: "login_title", request, session: nil, ["csrf": token, "next": next, "username": form["username"] ?? ""],
                error: message(error, request), status: error.status == 429 ? .tooManyRequests : .unauthorized)
            if let wait = error.retryAfter { response.headers[.retryAfter] = String(wait) }
            return response
        }
    }

    func logout(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let cookie = request.cookies[Self.sessionCookie]?.value, let session = try await identity.webSession(cookie: cookie, tenant: tenant) else {
            return Response.redirect(to: "/login", type: .found)
        }
        let form = try await Self.form(request)
        guard form["_csrf"] == session.csrfToken else { return errorPage(request, session, "error_csrf", .forbidden) }
        try await identity.signOut(cookie: cookie, session: session, address: context.remoteAddress)
        var response = Response.redirect(to: "/login", type: .found)
        response.setCookie(self.cookie(Self.sessionCookie, "", maxAge: 0))
        return response
    }

    /// The account page: the password form and, once the password is the owner's, the
    /// second factor.
    func passwordPage(
        _ request: Request, _ session: WebSession, error: String? = nil, flash: String? = nil, enrolment: (secret: String, url: String)? = nil
    ) async throws -> Response {
        var values: [String: Any] = [
            "forced": session.account.mustChangePassword, "totpEnabled": session.account.totpEnabled,
            "totpRequired": try await identity.totpRequired(for: session.account),
        ]
        if let enrolment { values["enrolment"] = ["secret": enrolment.secret, "url": enrolment.url] }
        return render("password", title: "password_title", request, session: session, values, error: error, flash: flash)
    }

    func changePassword(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        try await signedIn(request, context, form: true) { session, form in
            guard form["new_password"] == form["confirm_password"] else {
                return try await passwordPage(request, session, error: renderer.text("password_mismatch", WebRenderer.language(request)))
            }
            do {
                try await identity.changePassword(
                    of: session.account, current: form["current_password"] ?? "", new: form["new_password"] ?? "", address: context.remoteAddress)
            } catch let error as IdentityError {
                return try await passwordPage(request, session, error: message(error, request))
            }
            return Response.redirect(to: "/?changed=1", type: .found)
        }
    }

    func home(_ request: Request, _ session: WebSession) -> Response {
        let language = WebRenderer.language(request)
        let tiles = navigation(session.account, language: language).dropFirst().map { ["href": $0["href"] ?? "", "label": $0["label"] ?? ""] }
        let flash = request.uri.queryParameters["changed"] != nil ? renderer.text("password_changed", language) : nil
        return render("home", title: "home_title", request, session: session, ["tiles": Array(tiles), "hasTiles": !tiles.isEmpty], flash: flash)
    }

    // MARK: plumbing

    /// The pages of each role, in the navigation bar and as tiles on the home page.
    func navigation(_ account: Account, language: String) -> [[String: String]] {
        var items: [(String, String)] = [("/", "nav_home")]
        switch account.role {
        case .superAdmin: items += [("/admin/hospitals", "nav_hospitals"), ("/admin/pathways", "nav_pathway_admin"), ("/audit", "nav_audit")]
        case .hospitalAdmin: items += [("/staff", "nav_staff"), ("/admin/pathways", "nav_pathway_admin"), ("/audit", "nav_audit")]
        case .secretary:
            items += [("/appointments", "nav_appointments"), ("/availability", "nav_availability"), ("/patients", "nav_patients"), ("/patients/new", "nav_new_patient")]
        case .physician:
            items += [("/patients", "nav_my_patients"), ("/appointments", "nav_my_appointments"), ("/availability", "nav_availability"), ("/imaging", "nav_imaging")]
        case .patient: items += [("/portal", "nav_portal"), ("/appointments/request", "nav_request"), ("/imaging", "nav_my_images")]
        case .radiotherapyTechnologist:
            items += [("/pathways", "nav_pathways"), ("/pathways/machines", "nav_machines"), ("/imaging", "nav_imaging"), ("/imaging/unmatched", "nav_unmatched")]
        case .coordinator: items += [("/pathways", "nav_pathways"), ("/pathways/dashboard", "nav_dashboard"), ("/pathways/machines", "nav_machines"), ("/imaging", "nav_imaging")]
        case .medicalPhysicist, .dosimetrist: items += [("/pathways", "nav_pathways"), ("/pathways/machines", "nav_machines"), ("/imaging", "nav_imaging")]
        case .nurse: items += [("/imaging", "nav_imaging")]
        default: break
        }
        if account.role == .physician, account.hospital != nil { items.insert(("/pathways", "nav_pathways"), at: 2) }
        if [.secretary, .physician, .patient].contains(account.role) || Role.radiotherapyRoles.contains(account.role) {
            items.append(("/notifications", "nav_notifications"))
        }
        items.append(("/password", "nav_profile"))
        return items.map { ["href": $0.0, "label": renderer.text($0.1, language)] }
    }

    func render(
        _ template: String, title: String, _ request: Request, session: WebSession?, _ values: [String: Any] = [:], error: String? = nil,
        flash: String? = nil, status: HTTPResponse.Status = .ok
    ) -> Response {
        let language = WebRenderer.language(request)
        var context = values
        if let session {
            let path = request.uri.path
            let nav: [[String: Any]] = navigation(session.account, language: language).map { item in
                ["href": item["href"] ?? "", "label": item["label"] ?? "", "current": item["href"] == path]
            }
            context["user"] = [
                "username": session.account.username, "roleLabel": renderer.text("role_\(session.account.role.rawValue)", language),
                "nav": session.account.mustChangePassword ? [] : nav,
            ] as [String: Any]
            context["csrf"] = context["csrf"] ?? session.csrfToken
        }
        if let error { context["error"] = error }
        if let flash { context["flash"] = flash }
        var response = renderer.page(template, title: title, context: context, language: language, status: status)
        if let chosen = request.uri.queryParameters["lang"].map(String.init), WebRenderer.languages.contains(chosen) {
            response.setCookie(cookie("lang", chosen, maxAge: 365 * 24 * 3600, httpOnly: false))
        }
        return response
    }

    func errorPage(_ request: Request, _ session: WebSession?, _ key: String, _ status: HTTPResponse.Status) -> Response {
        messagePage(request, session, heading: "error_title", message: key, status: status)
    }

    /// A page saying one thing: a heading and a message, both localisation keys.
    func messagePage(
        _ request: Request, _ session: WebSession?, heading: String, message: String, status: HTTPResponse.Status = .ok
    ) -> Response {
        let language = WebRenderer.language(request)
        return render(
            "message", title: heading, request, session: session,
            ["heading": renderer.text(heading, language), "message": renderer.text(message, language)], status: status)
    }

    /// A user-facing message for an Identity error, in the page's language.
    func message(_ error: IdentityError, _ request: Request) -> String {
        let language = WebRenderer.language(request)
        let key = "err_\(error.code)"
        guard let text = renderer.strings[language]?[key] else { return error.message }
        if !error.details.isEmpty { return "\(text) \(error.details.joined(separator: ", "))" }
        return ["invalid", "conflict", "not-found"].contains(error.code) ? "\(text) \(error.message)" : text
    }

    /// Runs `body` for a signed-in session; sends others to the sign-in page, and accounts
    /// that still have the default password to the password page.
    func signedIn(_ request: Request, _ context: AppRequestContext, _ body: (WebSession) async throws -> Response) async throws -> Response {
        guard let cookie = request.cookies[Self.sessionCookie]?.value, let session = try await identity.webSession(cookie: cookie, tenant: tenant) else {
            let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            return Response.redirect(to: "/login?next=" + QueryString.encodeComponent(next), type: .found)
        }
        if session.account.mustChangePassword, request.uri.path != "/password" {
            return Response.redirect(to: "/password", type: .found)
        }
        if !["/password", "/account/totp/setup", "/account/totp/confirm"].contains(request.uri.path), try await identity.mustEnrolTOTP(session.account) {
            return Response.redirect(to: "/password#totp", type: .found)
        }
        return try await body(session)
    }

    /// Same, for a form post: the form must carry the session's CSRF token.
    func signedIn(
        _ request: Request, _ context: AppRequestContext, form: Bool, _ body: (WebSession, [String: String]) async throws -> Response
    ) async throws -> Response {
        try await signedIn(request, context) { session in
            let fields = try await Self.form(request)
            guard fields["_csrf"] == session.csrfToken else { return errorPage(request, session, "error_csrf", .forbidden) }
            return try await body(session, fields)
        }
    }

    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 64 * 1024)
        return Dictionary(QueryString.parse(String(buffer: body)), uniquingKeysWith: { first, _ in first })
    }

    /// All values of a repeated field (checkboxes).
    static func formValues(_ request: Request) async throws -> [(String, String)] {
        QueryString.parse(String(buffer: try await request.body.collect(upTo: 64 * 1024)))
    }

    /// Only local paths are followed after sign-in (no open redirect).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }

    func cookie(_ name: String, _ value: String, maxAge: Int, httpOnly: Bool = true) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secureCookies, httpOnly: httpOnly, sameSite: .lax)
    }

    /// Wraps a handler so that unexpected errors become a page, never a stack of internals.
    func page(_ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response) -> @Sendable (Request, AppRequestContext) async -> Response {
        { request, context in
            do {
                return try await handler(request, context)
            } catch let error as IdentityError where error.status == 403 {
                return errorPage(request, nil, "error_forbidden", .forbidden)
            } catch {
                logger.error("page failed", metadata: ["request_id": "\(context.requestID)", "error": "\(String(reflecting: type(of: error)))"])
                return errorPage(request, nil, "error_server", .internalServerError)
            }
        }
    }
}
