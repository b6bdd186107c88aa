import Core
import FHIR
import Foundation
import HTTPTypes
import Synchronization
import Testing

/// A clock the test moves forward, to let days pass between transitions.
final class SteppedClock: WallClock {
    let current: Mutex<Date>

    init(_ start: Date) { current = Mutex(start) }

    func now() -> Date { current.withLock { $0 } }

    func advance(hours: Double) { current.withLock { $0 = $0.addingTimeInterval(hours * 3600) } }
}

/// The coordinator's indicators (issue 6), measured over days that really pass on the clock.
@Suite struct PathwayKPITests {
    @Test func delaysRollbacksBlockedAndStalledCasesAreMeasuredFromTheSignedHistory() async throws {
        let clock = SteppedClock(Date(timeIntervalSince1970: 1_790_000_000))  // 2026-09-21, a Monday morning in Paris
        try await withTestApp(clock: clock) { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            // Tokens expire while days pass: sign in again after each jump.
            func token(_ username: String) async throws -> String {
                try await api.login(username, TestPassword.standard).json["access_token"]?.stringValue ?? ""
            }
            let id = try await f.openCase()
            let stalledID = try await f.openCase()
            try await f.tick(id, "to-prepare", ["identity-verified", "imaging-imported"], token: f.technologist)

            // 30 h to prescribe (within 48 h), then contours and plan.
            clock.advance(hours: 30)
            var oncologist = try await token("onco.a")
            #expect(try await f.move(id, to: "prescription-validated", token: oncologist).status == 200)
            try await f.tick(id, "prescription-validated", ["prescription-signed"], token: oncologist)
            #expect(try await f.move(id, to: "contours-validated", token: oncologist).status == 200)
            try await f.tick(id, "contours-validated", ["contours-locked"], token: oncologist)
            let dosimetrist = try await token("dosi.a")
            #expect(try await f.move(id, to: "plan-in-review", token: dosimetrist).status == 200)
            try await f.tick(id, "plan-in-review", ["dosimetric-qa"], token: dosimetrist)
            // Physics validation after 80 h: past the 72 h the regulation allows.
            clock.advance(hours: 80)
            let physicist = try await token("physicien.a")
            #expect(try await f.move(id, to: "plan-validated", token: physicist).status == 200)
            oncologist = try await token("onco.a")
            #expect(try await f.move(id, to: "plan-in-review", comment: "Dose cœur", token: oncologist).status == 200)
            clock.advance(hours: 10)
            #expect(try await f.move(id, to: "plan-validated", token: try await token("physicien.a")).status == 200)

            let coordinator = try await token("chef.a")
            let kpis = try await api.call(.get, "/api/v1/pathways/kpis", token: coordinator)
            #expect(kpis.status == 200, "kpis: \(kpis.text)")
            let stages = Dictionary(uniqueKeysWithValues: (kpis.json["stages"]?.arrayValue ?? []).map { ($0["stage"]?.stringValue ?? "", $0) })
            #expect(stages["to-prepare"]?["mean_hours"]?.numberValue?.text == "30")
            #expect(stages["plan-validated"]?["rollback_rate"]?.numberValue?.text == "1")
            #expect(stages["plan-in-review"]?["rollback_rate"]?.numberValue?.text == "0")
            let delays = Dictionary(uniqueKeysWithValues: (kpis.json["delays"]?.arrayValue ?? []).map { ($0["code"]?.stringValue ?? "", $0) })
            #expect(delays["prescription"]?["met"]?.numberValue?.text == "1")
            #expect(delays["physics-validation"]?["measured"]?.numberValue?.text == "1")
            #expect(delays["physics-validation"]?["met"]?.numberValue?.text == "0")
            // The second case never left "À préparer": stalled for 120 h, overdue, blocked on the oncologist.
            let stalled = kpis.json["stalled"]?.arrayValue ?? []
            #expect(stalled.first?["id"]?.stringValue == stalledID)
            #expect(stalled.first?["overdue"]?.boolValue == true)
            #expect(kpis.json["blocked_by_role"]?["physician"]?.numberValue?.text == "1")
            #expect(kpis.json["blocked_by_machine"]?["Halcyon 1"]?.numberValue?.text == "1")
            // The physics delay is configurable: at 96 h the same validation meets it.
            let edited = try await api.call(
                .put, "/api/v1/admin/pathways/radiotherapy/delays",
                [
                    "delays": [
                        ["code": "prescription", "title_fr": "Prescription < 48 h", "from": "to-prepare", "to": "prescription-validated", "hours": 48],
                        ["code": "physics-validation", "title_fr": "Validation physique < 96 h", "from": "plan-in-review", "to": "plan-validated", "hours": 96],
                    ]
                ], token: try await token("admin.a"))
            #expect(edited.status == 200, "delays: \(edited.text)")
            let relaxed = try await api.call(.get, "/api/v1/pathways/kpis", token: coordinator)
            let physics = relaxed.json["delays"]?.arrayValue?.first { $0["code"]?.stringValue == "physics-validation" }
            #expect(physics?["met"]?.numberValue?.text == "1")
            let unknownStage = try await api.call(
                .put, "/api/v1/admin/pathways/radiotherapy/delays",
                ["delays": [["code": "x", "title_fr": "X", "from": "nowhere", "to": "closed", "hours": 10]]], token: try await token("admin.a"))
            #expect(unknownStage.status == 422)

            // A patient sees no indicators.
            #expect(try await api.call(.get, "/api/v1/pathways/kpis", token: try await api.firstSignIn("jeanne")).status == 403)
        }
    }

    @Test func anAdminSetsHowLongACaseMayStayInAStageBeforeItIsOverdue() async throws {
        let clock = SteppedClock(Date(timeIntervalSince1970: 1_790_000_000))
        try await withTestApp(clock: clock) { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            func overdue(_ id: String) async throws -> Bool? {
                let board = try await api.call(.get, "/api/v1/pathways/cases", token: try await api.login("chef.a", TestPassword.standard).json["access_token"]?.stringValue ?? "")
                return board.json["items"]?.arrayValue?.first { $0["id"]?.stringValue == id }?["overdue"]?.boolValue
            }
            let id = try await f.openCase()
            let admin = try await api.login("admin.a", TestPassword.standard).json["access_token"]?.stringValue ?? ""
            let before = try await api.call(.get, "/api/v1/admin/pathways/radiotherapy", token: admin).json["version"]?.numberValue?.text

            let set = try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/target", ["stage": "to-prepare", "hours": 2], token: admin)
            #expect(set.status == 200, "target: \(set.text)")
            #expect(set.json["version"]?.numberValue?.text != before)
            #expect(set.json["stages"]?.arrayValue?.first { $0["code"]?.stringValue == "to-prepare" }?["target_hours"]?.numberValue?.text == "2")
            #expect(try await overdue(id) == false)
            clock.advance(hours: 3)
            #expect(try await overdue(id) == true)

            // No target, never overdue; bad values and other roles are refused.
            let freshAdmin = try await api.login("admin.a", TestPassword.standard).json["access_token"]?.stringValue ?? ""
            #expect(try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/target", ["stage": "to-prepare", "hours": .null], token: freshAdmin).status == 200)
            #expect(try await overdue(id) == false)
            #expect(try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/target", ["stage": "to-prepare", "hours": 0], token: freshAdmin).status == 400)
            #expect(try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/target", ["stage": "nowhere", "hours": 5], token: freshAdmin).status == 404)
            let technologist = try await api.login("manip.a", TestPassword.standard).json["access_token"]?.stringValue ?? ""
            #expect(try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/target", ["stage": "to-prepare", "hours": 5], token: technologist).status == 403)
        }
    }
}
