import Imaging
import Logging
import ServiceLifecycle

/// Rewrites the ImagingStudy resources left behind their index (a crash between a store and
/// its rewrite, a failed rewrite): at start, then every `interval` seconds.
struct ImagingSyncService: Service {
    let imaging: ImagingService
    let interval: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let rewritten = try await imaging.syncStaleStudies()
                    if rewritten > 0 { logger.notice("rewrote ImagingStudy resources behind their index", metadata: ["studies": "\(rewritten)"]) }
                } catch {
                    logger.error("the ImagingStudy sweep failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }
}
