import Core
import FHIR
import FHIRStore
import HTTPTypes
import HygieServer
import SQLKit
import Storage
import Testing

/// Every access to patient data, every sign-in and every account change leaves an AuditEvent;
/// the AuditEvents form a hash chain that `verifyAuditChain` checks.
@Suite struct AuditTrailTests {
    @Test func readsWritesAndSignInsAreAuditedAndOnlyAdminsReadTheTrail() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let (physician, token) = try await setup.staff("dr.audit", role: "physician", by: setup.adminA)
            let (_, secretary) = try await setup.staff("sec.audit", role: "secretary", by: setup.adminA)
            let patient = try await api.create(
                "/api/v1/patients", ["username": "patient.audit", "family": "Audit", "physicians": [physician["practitioner"] ?? .null]],
                token: secretary)["patient"]?.stringValue ?? ""
            let auth = ["Authorization": "Bearer \(token)"]
            #expect(try await http.get("/fhir/Patient/\(patient)", headers: auth).status == 200)
            let created = try await http.send(.post, "/fhir/Observation", json: Fixture.observation(patient: patient), headers: auth)
            #expect(created.status == 201)
            #expect(try await api.login("dr.audit", "wrong").status == 401)

            let trail = try await api.call(.get, "/api/v1/admin/audit?patient=\(patient)", token: setup.superAdmin)
            #expect(trail.status == 200)
            let items = trail.json["items"]?.arrayValue ?? []
            let events = Set(items.compactMap { $0["event"]?.stringValue })
            #expect(events.isSuperset(of: ["read", "create", "account-change"]))
            let read = items.first { $0["event"]?.stringValue == "read" }
            #expect(read?["account"]?.stringValue == physician["id"]?.stringValue)
            #expect(read?["role"]?.stringValue == "physician")
            #expect(read?["action"]?.stringValue == "R")
            #expect(read?["outcome"]?.stringValue == "0")

            let logins = try await api.call(.get, "/api/v1/admin/audit?account=\(physician["id"]?.stringValue ?? "")", token: setup.adminA)
            #expect(logins.json["items"]?.arrayValue?.contains { $0["event"]?.stringValue == "110122" && $0["outcome"]?.stringValue == "4" } == true)
            // An admin of another hospital sees nothing of this hospital's staff; staff see no trail.
            let other = try await api.call(.get, "/api/v1/admin/audit?account=\(physician["id"]?.stringValue ?? "")", token: setup.adminB)
            #expect(other.json["items"]?.arrayValue?.isEmpty == true)
            #expect(try await api.call(.get, "/api/v1/admin/audit", token: token).status == 403)
            // Over FHIR, the super admin searches AuditEvents; a physician finds none.
            let fhirTrail = try await http.get("/fhir/AuditEvent?entity=Patient/\(patient)", headers: ["Authorization": "Bearer \(setup.superAdmin)"])
            #expect(fhirTrail.status == 200)
            #expect(fhirTrail.matches.count >= 3)
            #expect(try await http.get("/fhir/AuditEvent", headers: auth).matches.isEmpty)
            // A hospital admin finds, over FHIR, what the staff of their hospital did, and only that.
            let ownStaff = try await http.get("/fhir/AuditEvent?_count=500", headers: ["Authorization": "Bearer \(setup.adminA)"])
            let agents = Set(ownStaff.matches.compactMap { $0["agent"]?.arrayValue?.first?["who"]?["reference"]?.stringValue })
            #expect(agents.contains("Practitioner/\(physician["practitioner"]?.stringValue ?? "")"))
            let otherAdmin = try await http.get("/fhir/AuditEvent?_count=500", headers: ["Authorization": "Bearer \(setup.adminB)"])
            #expect(!otherAdmin.matches.contains { $0["agent"]?.arrayValue?.first?["who"]?["reference"]?.stringValue == "Practitioner/\(physician["practitioner"]?.stringValue ?? "")" })
        }
    }

    @Test func refusedAccessIsAuditedAsAFailure() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let (physician, token) = try await setup.staff("dr.refus", role: "physician", by: setup.adminA)
            let unlinked = try await http.create(Fixture.patient(family: "Inconnu"))
            #expect(try await http.get("/fhir/Patient/\(unlinked)", headers: ["Authorization": "Bearer \(token)"]).status == 404)
            let trail = try await setup.api.call(.get, "/api/v1/admin/audit?patient=\(unlinked)", token: setup.superAdmin)
            let refused = trail.json["items"]?.arrayValue?.first { $0["account"]?.stringValue == physician["id"]?.stringValue }
            #expect(refused?["outcome"]?.stringValue == "4")
            #expect(refused?["detail"]?.stringValue == "HTTP 404")
        }
    }

    @Test func auditEventsCannotBeChangedOrDeletedThroughFHIR() async throws {
        try await withTestApp { http in
            _ = try await http.create(Fixture.patient(family: "Trace"))
            let any = try await http.search("AuditEvent?_count=1").matches.first
            let id = any?["id"]?.stringValue ?? ""
            #expect(!id.isEmpty)
            #expect(try await http.send(.put, "/fhir/AuditEvent/\(id)", json: any ?? .null).status == 403)
            #expect(try await http.send(.delete, "/fhir/AuditEvent/\(id)").status == 403)
            let forged: JSON = [
                "resourceType": "AuditEvent", "type": ["code": "rest"], "recorded": "2026-01-01T00:00:00Z",
                "agent": [["requestor": true]], "source": ["observer": ["display": "x"]],
            ]
            #expect(try await http.send(.post, "/fhir/AuditEvent", json: forged).status == 403)
        }
    }

    @Test func theHashChainVerifiesAndReportsTheFirstBrokenLink() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let agent = AuditAgent(account: "a1", who: nil, role: "physician", address: "127.0.0.1")
            for index in 0..<5 {
                try await platform.fhir.record(AuditRecord(agent: agent, kind: .login, action: .execute, detail: "n\(index)"), tenant: tenant)
            }
            let intact = try await platform.fhir.verifyAuditChain(tenant: tenant)
            #expect(intact.checked == 5)
            #expect(intact.firstBroken == nil)

            try await platform.store.transaction { try await $0.raw("UPDATE audit_chain SET hash = 'forged' WHERE seq = 3").run() }
            let forged = try await platform.fhir.verifyAuditChain(tenant: tenant)
            #expect(forged.firstBroken?.seq == 3)
            #expect(forged.checked == 2)

            try await platform.store.transaction { try await $0.raw("DELETE FROM audit_chain WHERE seq = 2").run() }
            let missing = try await platform.fhir.verifyAuditChain(tenant: tenant)
            #expect(missing.firstBroken?.seq == 2)
            #expect(missing.firstBroken?.reason == "entry 2 is missing")
        }
    }

    @Test func anEditedAuditEventBreaksTheChain() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let agent = AuditAgent(account: "a1", who: nil, role: "nurse", address: nil)
            for _ in 0..<3 { try await platform.fhir.record(AuditRecord(agent: agent, kind: .login, action: .execute), tenant: tenant) }
            // Pretend the first event was rewritten: AuditEvents are written once (version 1).
            try await platform.store.transaction { database in
                let rows = try await database.raw("SELECT event_id FROM audit_chain ORDER BY seq LIMIT 2").all()
                let first = try rows[0].decode(column: "event_id", as: String.self)
                try await database.raw("UPDATE fhir_resources SET version = 2 WHERE resource_type = 'AuditEvent' AND id = \(bind: first)").run()
            }
            let result = try await platform.fhir.verifyAuditChain(tenant: tenant)
            #expect(result.firstBroken?.seq == 1)
        }
    }
}
