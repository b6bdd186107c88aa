import Core
import Foundation
import Identity
import Logging
import Mail

/// Sends the self-service reset link, in the language of the page or API call that asked.
struct PasswordResetMail: Sendable {
    let identity: IdentityService
    let mailer: any Mailer
    let renderer: WebRenderer
    let logger: Logger

    /// Answers the same whether or not the account exists; a failed delivery is logged (with
    /// no address), not reported, so that it reveals nothing either.
    func request(username: String, tenant: TenantID, address: String?, language: String) async throws {
        guard let (email, token) = try await identity.requestPasswordReset(username: username, tenant: tenant, address: address) else { return }
        let link = identity.issuer + "/reset-password?token=" + token
        let message = MailMessage(
            to: email, subject: renderer.text("mail_reset_subject", language),
            body: renderer.text("mail_reset_body", language).replacingOccurrences(of: "{link}", with: link))
        do {
            try await mailer.send(message)
        } catch {
            let reason = (error as? MailError)?.summary ?? String(reflecting: type(of: error))
            logger.warning("password reset mail not sent", metadata: ["reason": "\(reason)"])
        }
    }
}
