import Mail
import Synchronization

/// Keeps the mail the server sends, for tests that read it.
final class RecordingMailer: Mailer {
    private let sent = Mutex<[MailMessage]>([])

    func send(_ message: MailMessage) async throws {
        sent.withLock { $0.append(message) }
    }

    var messages: [MailMessage] { sent.withLock { $0 } }
}
