import Core
import Logging
import Scheduling
import ServiceLifecycle

/// Keeps published slots `horizon_days` ahead as days pass: every hour, schedules whose
/// published horizon has shrunk by a day are planned again.
struct SlotHorizonService: Service {
    let scheduling: SchedulingService
    let tenant: TenantID
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await scheduling.extendHorizons(tenant: tenant)
                } catch {
                    logger.error("extending slot horizons failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
