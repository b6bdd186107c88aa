import Core
import Logging
import Scheduling
import ServiceLifecycle

/// Keeps published slots `horizon_days` ahead as days pass: at start and then every
/// `interval` seconds, schedules whose published horizon has shrunk by a day are planned again.
struct SlotHorizonService: Service {
    let scheduling: SchedulingService
    let tenant: TenantID
    let interval: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await scheduling.extendHorizons(tenant: tenant)
                } catch {
                    logger.error("extending slot horizons failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
