import ArgumentParser
import Core
import Foundation
import Hummingbird
import HygieServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (migrations are applied at start).")

    @OptionGroup var storage: StorageOptions
    @OptionGroup var dicom: DICOMOptions

    @Option(help: "Address to listen on [env: HYGIE_HOST] (default: 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on [env: HYGIE_PORT] (default: 8080).")
    var port: Int?

    @Option(name: .customLong("base-url"), help: "Base URL clients reach the server at, for links and Location headers [env: HYGIE_BASE_URL] (default: http://<host>:<port>).")
    var baseURL: String?

    @Option(name: .customLong("max-body-size"), help: "Largest request body in bytes; larger ones are answered 413 [env: HYGIE_MAX_BODY_SIZE] (default: 16777216).")
    var maxBodySize: Int?

    @Option(name: .customLong("rate-limit-account"), help: "API requests allowed per hour and account, 0 for no limit [env: HYGIE_RATE_LIMIT_ACCOUNT] (default: 1000).")
    var rateLimitAccount: Int?

    @Option(name: .customLong("rate-limit-address"), help: "API requests allowed per hour and network address, 0 for no limit [env: HYGIE_RATE_LIMIT_ADDRESS] (default: 1000).")
    var rateLimitAddress: Int?

    @Option(name: .customLong("break-glass-duration"), help: "Seconds a break-the-glass grant lasts [env: HYGIE_BREAK_GLASS_DURATION] (default: 14400).")
    var breakGlassDuration: Int?

    @Option(name: .customLong("smtp-host"), help: "SMTP relay for outgoing mail (password resets); without it no mail is sent [env: HYGIE_SMTP_HOST].")
    var smtpHost: String?

    @Option(name: .customLong("smtp-port"), help: "Port of the SMTP relay [env: HYGIE_SMTP_PORT] (default: 25).")
    var smtpPort: Int?

    @Option(name: .customLong("mail-from"), help: "Sender address of outgoing mail [env: HYGIE_MAIL_FROM] (default: no-reply@hygie.local).")
    var mailFrom: String?

    @Flag(help: "Load the synthetic demonstration data set into an empty database [env: HYGIE_DEMO=1].")
    var demo = false

    @Flag(name: .customLong("demo-open"), help: "With the demonstration data: let the demo accounts sign in with the default password without changing it. Never on real data [env: HYGIE_DEMO_OPEN=1].")
    var demoOpen = false

    func run() async throws {
        AllocatorTuning.keepLargeBlocks()
        let environment = ProcessInfo.processInfo.environment
        var configuration = HygieConfiguration()
        try storage.apply(to: &configuration)
        try dicom.apply(to: &configuration)
        if let value = host ?? environment["HYGIE_HOST"] { configuration.host = value }
        if let value = try integer(port, "HYGIE_PORT", environment) { configuration.port = value }
        configuration.publicBaseURL = baseURL ?? environment["HYGIE_BASE_URL"]
        if let value = try integer(maxBodySize, "HYGIE_MAX_BODY_SIZE", environment) {
            guard value > 0 else { throw ValidationError("The maximum body size must be positive.") }
            configuration.maxRequestBodySize = value
        }
        configuration.demoOpen = flag(demoOpen, "HYGIE_DEMO_OPEN", environment)
        configuration.loadDemoData = flag(demo, "HYGIE_DEMO", environment) || configuration.demoOpen
        configuration.smtpHost = smtpHost ?? environment["HYGIE_SMTP_HOST"]
        if let value = try integer(smtpPort, "HYGIE_SMTP_PORT", environment) { configuration.smtpPort = value }
        if let value = mailFrom ?? environment["HYGIE_MAIL_FROM"] { configuration.mailFrom = value }
        if let value = try integer(rateLimitAccount, "HYGIE_RATE_LIMIT_ACCOUNT", environment) { configuration.rateLimitPerAccount = max(0, value) }
        if let value = try integer(breakGlassDuration, "HYGIE_BREAK_GLASS_DURATION", environment) {
            guard value > 0 else { throw ValidationError("The break-the-glass duration must be positive.") }
            configuration.breakGlassDuration = value
        }
        if let value = try integer(rateLimitAddress, "HYGIE_RATE_LIMIT_ADDRESS", environment) { configuration.rateLimitPerAddress = max(0, value) }
        let app = try await buildApplication(configuration)
        try await app.runService()
    }
}
