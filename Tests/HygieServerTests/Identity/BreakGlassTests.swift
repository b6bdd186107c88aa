import Core
import FHIR
import HTTPTypes
import Testing

/// A physician may open an unlinked patient's record for a written reason, for a limited
/// time; the access is audited and the patient's care team is told.
@Suite struct BreakGlassTests {
    @Test func aPhysicianOpensAnUnlinkedRecordForFourHoursWithAReason() async throws {
        let clock = FixedWallClockBox.make("2026-03-01T08:00:00Z")
        try await withTestApp(clock: clock) { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let (linked, linkedToken) = try await setup.staff("dr.traitant", role: "physician", by: setup.adminA)
            let (urgentist, token) = try await setup.staff("dr.urgence", role: "physician", by: setup.adminB)
            let (_, secretary) = try await setup.staff("sec.bg", role: "secretary", by: setup.adminA)
            let (_, nurse) = try await setup.staff("inf.bg", role: "nurse", by: setup.adminB)
            let patient = try await api.create(
                "/api/v1/patients", ["username": "patient.bg", "family": "Urgence", "physicians": [linked["practitioner"] ?? .null]],
                token: secretary)["patient"]?.stringValue ?? ""
            let auth = ["Authorization": "Bearer \(token)"]
            #expect(try await http.get("/fhir/Patient/\(patient)", headers: auth).status == 404)

            let short = try await api.call(.post, "/api/v1/break-glass", ["patient": .string(patient), "reason": "urgent"], token: token)
            #expect(short.status == 400)
            let byNurse = try await api.call(
                .post, "/api/v1/break-glass", ["patient": .string(patient), "reason": "Patient inconscient aux urgences"], token: nurse)
            #expect(byNurse.status == 403)
            let opened = try await api.call(
                .post, "/api/v1/break-glass", ["patient": .string(patient), "reason": "Patient inconscient aux urgences"], token: token)
            #expect(opened.status == 201)
            #expect(try await http.get("/fhir/Patient/\(patient)", headers: auth).status == 200)

            // Audited with the reason, and the care team is notified.
            let trail = try await api.call(.get, "/api/v1/admin/audit?patient=\(patient)", token: setup.superAdmin)
            let entry = trail.json["items"]?.arrayValue?.first { $0["event"]?.stringValue == "break-the-glass" }
            #expect(entry?["account"]?.stringValue == urgentist["id"]?.stringValue)
            #expect(entry?["detail"]?.stringValue == "Patient inconscient aux urgences")
            let notices = try await http.get("/fhir/Communication?subject=Patient/\(patient)", headers: ["Authorization": "Bearer \(linkedToken)"])
            #expect(notices.matches.contains { notice in
                notice["recipient"]?.arrayValue?.contains { $0["reference"]?.stringValue == "Practitioner/\(linked["practitioner"]?.stringValue ?? "")" } == true
            })

            // Four hours later the grant has ended.
            clock.advance(by: 4 * 3600 + 1)
            let fresh = try await api.login("dr.urgence", TestPassword.standard).json["access_token"]?.stringValue ?? ""
            #expect(try await http.get("/fhir/Patient/\(patient)", headers: ["Authorization": "Bearer \(fresh)"]).status == 404)
        }
    }
}
