import Core
import FHIR
import Foundation
import HTTPTypes
import Testing

/// `hygie serve --demo` builds two hospitals a new user can sign in to as each role.
@Suite struct DemoDeploymentTests {
    /// The day in Europe/Paris, the pathways' time zone (the day machine QA counts for).
    static func parisDay() -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris")!
        return calendar.dateComponents([.year, .month, .day], from: Date())
    }

    @Test func demoAccountsMustChangeTheirPasswordAndFindFilledData() async throws {
        let seededOn = Self.parisDay()
        try await withTestApp(configure: { $0.loadDemoData = true }) { http in
            let api = APITestClient(http: http)
            let first = try await api.login("dr.martin", "mediconnect")
            #expect(first.json["must_change_password"]?.boolValue == true)
            let blocked = try await api.call(.get, "/api/v1/appointments", token: first.json["access_token"]?.stringValue)
            #expect(blocked.status == 403)

            let secretary = try await api.firstSignIn("sec.nice")
            let queue = try await api.call(.get, "/api/v1/appointments?status=proposed", token: secretary)
            #expect(queue.json["items"]?.arrayValue?.count == 2, "Nice's queue: \(queue.text)")
            let patient = try await api.firstSignIn("camille.durand")
            let mine = try await api.call(.get, "/api/v1/appointments?limit=100", token: patient)
            let statuses = Set(mine.json["items"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? [])
            #expect(statuses == ["booked", "proposed", "fulfilled", "noshow"])
            let louis = try await api.firstSignIn("louis.moreau")
            let his = try await api.call(.get, "/api/v1/appointments?limit=100", token: louis)
            #expect(Set(his.json["items"]?.arrayValue?.compactMap { $0["status"]?.stringValue } ?? []) == ["booked", "proposed", "cancelled"])
            let me = try await api.call(.get, "/api/v1/auth/me", token: patient)
            let record = try await api.call(.get, "/api/v1/medical-records?patient=\(me.json["patient"]?.stringValue ?? "")", token: patient)
            #expect(Set(record.json["items"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? []).count == 6)
            let slots = try await api.call(.get, "/api/v1/availability?specialty=radiology", token: patient)
            #expect(slots.json["items"]?.arrayValue?.isEmpty == false)

            // Nice's radiotherapy department: forty cases over the eight stages, some overdue,
            // two machines of which one failed today's QA.
            let coordinator = try await api.firstSignIn("chef.nice")
            let board = try await api.call(.get, "/api/v1/pathways/cases", token: coordinator)
            let cards = board.json["items"]?.arrayValue ?? []
            #expect(cards.count == 40)
            #expect(Set(cards.compactMap { $0["stage"]?.stringValue }).count == 8)
            #expect(cards.contains { $0["overdue"]?.boolValue == true })
            let machines = try await api.call(.get, "/api/v1/pathways/machines", token: coordinator)
            // Unless midnight (Paris) fell since the demo recorded its QA: it is then yesterday's.
            if Self.parisDay() == seededOn {
                #expect(machines.json["items"]?.arrayValue?.compactMap { $0["qa_today"]?.stringValue }.sorted() == ["failed", "ok"])
            }
            let case1 = try #require(cards.first { $0["stage"]?.stringValue == "closed" }?["id"]?.stringValue)
            let detail = try await api.call(.get, "/api/v1/pathways/cases/\(case1)", token: coordinator)
            #expect(detail.json["timeline"]?.arrayValue?.count ?? 0 >= 8)
            #expect(detail.json["timeline"]?.arrayValue?.allSatisfy { $0["signature_valid"]?.boolValue == true } == true)
            #expect(detail.json["sessions"]?.arrayValue?.count == 3)
        }
    }

    @Test func demoOpenKeepsTheDefaultPassword() async throws {
        try await withTestApp(configure: { $0.loadDemoData = true; $0.demoOpen = true }) { http in
            let api = APITestClient(http: http)
            let signedIn = try await api.login("sec.lyon", "mediconnect")
            #expect(signedIn.json["must_change_password"]?.boolValue == false)
            let queue = try await api.call(.get, "/api/v1/appointments?status=proposed", token: signedIn.json["access_token"]?.stringValue)
            #expect(queue.status == 200)
            #expect(queue.json["items"]?.arrayValue?.count == 2)
        }
    }
}
