import Core
import FHIR
import Foundation
import HTTPTypes
import HygieServer
import Logging
import Pathways
import Storage
import Synchronization
import Testing

/// The stalled-case reminder (issue 6): a case waiting more than 24 h in one stage is reported
/// to the staff who may move it on, once per stay.
@Suite struct StalledCaseReminderTests {
    final class ConfigurationBox: Sendable {
        let value = Mutex<HygieConfiguration?>(nil)
    }

    @Test func aCaseWaitingMoreThanADayIsReportedOncePerStayToThoseWhoMayMoveItOn() async throws {
        let clock = SteppedClock(Date(timeIntervalSince1970: 1_790_000_000))
        let box = ConfigurationBox()
        try await withTestApp(clock: clock, configure: { configuration in box.value.withLock { $0 = configuration } }) { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            let id = try await f.openCase()
            try await f.tick(id, "to-prepare", ["identity-verified", "imaging-imported"], token: f.technologist)
            // The job runs in the server's services; here a second opening of the platform on
            // the same database runs it, as another `hygie serve` would.
            let configuration = try #require(box.value.withLock { $0 })
            let platform = try await Platform.open(configuration, environment: HygieEnvironment(clock: clock), logger: Logger(label: "test"))
            do {
                #expect(try await platform.pathways.notifyStalledCases(tenant: configuration.defaultTenant) == 0)
                clock.advance(hours: 25)
                #expect(try await platform.pathways.notifyStalledCases(tenant: configuration.defaultTenant) == 1)
                clock.advance(hours: 1)
                #expect(try await platform.pathways.notifyStalledCases(tenant: configuration.defaultTenant) == 0)

                // The oncologist (who moves it on) and the coordinator are told; the dosimetrist is not.
                func notices(_ username: String) async throws -> [JSON] {
                    let token = try await api.login(username, TestPassword.standard).json["access_token"]?.stringValue ?? ""
                    return try await api.call(.get, "/api/v1/notifications", token: token).json["items"]?.arrayValue ?? []
                }
                let told = try await notices("onco.a").filter { $0["code"]?.stringValue == "pathway-stalled" }
                #expect(told.count == 1)
                #expect(told.first?["text"]?.stringValue?.contains("À préparer") == true)
                #expect(try await notices("chef.a").contains { $0["code"]?.stringValue == "pathway-stalled" })
                #expect(try await !notices("dosi.a").contains { $0["code"]?.stringValue == "pathway-stalled" })

                // Moved on, the case starts a new stay: reported again only after another day.
                let oncologist = try await api.login("onco.a", TestPassword.standard).json["access_token"]?.stringValue ?? ""
                #expect(try await f.move(id, to: "prescription-validated", token: oncologist).status == 200)
                #expect(try await platform.pathways.notifyStalledCases(tenant: configuration.defaultTenant) == 0)
                clock.advance(hours: 25)
                #expect(try await platform.pathways.notifyStalledCases(tenant: configuration.defaultTenant) == 1)
            } catch {
                await platform.store.close()
                throw error
            }
            await platform.store.close()
        }
    }
}
