/// An e-mail to send. Bodies are plain text (UTF-8).
public struct MailMessage: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var body: String

    public init(to: String, subject: String, body: String) {
        self.to = to
        self.subject = subject
        self.body = body
    }
}

/// Sends e-mail. Injected (STYLE habit 5): SMTP in production, a recorder in tests.
public protocol Mailer: Sendable {
    func send(_ message: MailMessage) async throws
}

/// The mailer of a deployment without SMTP settings: refuses, so that nobody believes a mail
/// left.
public struct UnconfiguredMailer: Mailer {
    public init() {}

    public func send(_ message: MailMessage) async throws {
        throw MailError.notConfigured
    }
}

public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    case notConfigured
    case invalidAddress(String)
    case rejected(command: String, reply: String)
    case connectionClosed

    /// What went wrong, without addresses or the server's words (which may quote them): for
    /// logs, which carry no personal data.
    public var summary: String {
        switch self {
        case .notConfigured: "not configured"
        case .invalidAddress: "invalid address"
        case .rejected(let command, _): "refused at \(command)"
        case .connectionClosed: "connection closed"
        }
    }

    public var description: String {
        switch self {
        case .notConfigured: "no SMTP server is configured (HYGIE_SMTP_HOST)"
        case .invalidAddress(let address): "not a deliverable address: \(address)"
        case .rejected(let command, let reply): "the SMTP server refused \(command): \(reply)"
        case .connectionClosed: "the SMTP server closed the connection"
        }
    }
}
