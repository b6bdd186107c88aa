import Core
import FHIR
import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// Forgotten passwords: the owner asks for a link by e-mail, then chooses a new password
/// with it (single use, 30 minutes). Nobody else can set it (DESIGN §6).
extension WebController {
    func addPasswordResetRoutes(to router: Router<AppRequestContext>) {
        router.get("/forgot-password", use: page { request, _ in forgotPage(request) })
        router.post("/forgot-password", use: page(forgot))
        router.get("/reset-password", use: page(resetPage))
        router.post("/reset-password", use: page(reset))
    }

    func forgotPage(_ request: Request, error: String? = nil) -> Response {
        let token = IdentityService.randomToken()
        var response = render("forgot", title: "forgot_title", request, session: nil, ["csrf": token], error: error)
        response.setCookie(cookie(Self.loginCookie, token, maxAge: 3600))
        return response
    }

    func forgot(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let token = request.cookies[Self.loginCookie]?.value, form["_csrf"] == token else { return errorPage(request, nil, "error_csrf", .forbidden) }
        do {
            try await resetMail.request(
                username: form["username"] ?? "", tenant: tenant, address: context.remoteAddress, language: WebRenderer.language(request))
        } catch let error as IdentityError {
            return forgotPage(request, error: message(error, request))
        }
        return messagePage(request, nil, heading: "forgot_title", message: "forgot_sent")
    }

    func resetPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        guard try await identity.resetTokenIsValid(token, tenant: tenant) else {
            return messagePage(request, nil, heading: "reset_title", message: "reset_invalid", status: .badRequest)
        }
        return resetForm(request, token: token)
    }

    func resetForm(_ request: Request, token: String, error: String? = nil) -> Response {
        let csrf = IdentityService.randomToken()
        var response = render("reset", title: "reset_title", request, session: nil, ["csrf": csrf, "token": token], error: error)
        response.setCookie(cookie(Self.loginCookie, csrf, maxAge: 3600))
        return response
    }

    func reset(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let csrf = request.cookies[Self.loginCookie]?.value, form["_csrf"] == csrf else { return errorPage(request, nil, "error_csrf", .forbidden) }
        let token = form["token"] ?? ""
        guard form["new_password"] == form["confirm_password"] else {
            return resetForm(request, token: token, error: renderer.text("password_mismatch", WebRenderer.language(request)))
        }
        do {
            try await identity.resetPassword(token: token, newPassword: form["new_password"] ?? "", tenant: tenant, address: context.remoteAddress)
        } catch let error as IdentityError where error.code == "reset-invalid" {
            return messagePage(request, nil, heading: "reset_title", message: "reset_invalid", status: .badRequest)
        } catch let error as IdentityError {
            return resetForm(request, token: token, error: message(error, request))
        }
        return messagePage(request, nil, heading: "reset_title", message: "reset_done")
    }
}
