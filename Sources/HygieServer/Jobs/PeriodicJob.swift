import Logging
import ServiceLifecycle

/// A job run with the server: at start, then every `interval` seconds until shutdown. A
/// failed run is logged (its type only: errors may carry patient data) and the next one
/// tries again.
struct PeriodicJob: Service {
    let name: String
    let interval: Int
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await work()
                } catch {
                    logger.error("\(name) failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
