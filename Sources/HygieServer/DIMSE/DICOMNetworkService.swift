import DIMSE
import ServiceLifecycle

/// Runs the DIMSE listener with the server; stops taking associations at shutdown. A listener
/// that cannot start (port taken) stops the server with it.
struct DICOMNetworkService: Service {
    let server: DIMSEServer

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await server.run() }
        } catch is CancellationError {
            return
        }
    }
}
