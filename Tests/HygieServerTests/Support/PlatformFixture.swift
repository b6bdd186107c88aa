import Core
import FHIR
import Foundation
import HygieServer
import Logging
import Storage

/// Opens the platform (database, key ring, FHIR store) on a test database, as many times as a
/// test needs: each opening has its own connections, like a separate `hygie serve` process.
func withPlatforms(
    count: Int, configure: (inout HygieConfiguration) -> Void = { _ in },
    _ body: @Sendable ([Platform], HygieConfiguration) async throws -> Void
) async throws {
    let database = try await TestDatabase.make()
    var configuration = database.configuration()
    configure(&configuration)
    var platforms: [Platform] = []
    do {
        for _ in 0..<count {
            platforms.append(try await Platform.open(configuration, environment: HygieEnvironment(), logger: Logger(label: "test")))
        }
        try await body(platforms, configuration)
    } catch {
        for platform in platforms { await platform.store.close() }
        await database.drop()
        throw error
    }
    for platform in platforms { await platform.store.close() }
    await database.drop()
}
