import Hummingbird
import SQLKit
import Storage

/// `/health/live` answers while the process runs; `/health/ready` once the database answers.
struct HealthController {
    let store: any SQLStore

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/health/live") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"up"}"#)))
        }
        router.get("/health/ready") { _, _ in
            do {
                _ = try await store.read { database in try await database.raw("SELECT 1 AS ok").first() }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#)))
            } catch {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"status":"database unavailable"}"#)))
            }
        }
    }
}
