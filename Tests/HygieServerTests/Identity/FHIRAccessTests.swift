import FHIR
import HTTPTypes
import Testing

/// `/fhir` answers each caller with what its role and scopes allow, and nothing else.
@Suite struct FHIRAccessTests {
    @Test func withoutATokenOnlyTheCapabilityStatementAnswers() async throws {
        try await withTestApp(systemClient: false) { http in
            #expect(try await http.get("/fhir/metadata").status == 200)
            let refused = try await http.get("/fhir/Patient")
            #expect(refused.status == 401)
            #expect(refused.issueCodes == ["login"])
            #expect(refused.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            let forged = try await http.get("/fhir/Patient", headers: ["Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."])
            #expect(forged.status == 401)
        }
    }

    @Test func eachRoleSeesAndWritesThePatientsItMayOverFHIR() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let (physicianA, tokenA) = try await setup.staff("dr.fhir.a", role: "physician", by: setup.adminA)
            let (_, tokenB) = try await setup.staff("dr.fhir.b", role: "physician", by: setup.adminB)
            let (_, secretary) = try await setup.staff("sec.fhir.a", role: "secretary", by: setup.adminA)
            let created = try await api.create(
                "/api/v1/patients", ["username": "patient.fhir", "family": "Bernard", "physicians": [physicianA["practitioner"] ?? .null]],
                token: secretary)
            let patient = created["patient"]?.stringValue ?? ""
            let observation = try await http.create(Fixture.observation(patient: patient))
            let patientToken = try await api.firstSignIn("patient.fhir")
            func get(_ path: String, _ token: String) async throws -> FHIRTestResponse {
                try await http.get(path, headers: ["Authorization": "Bearer \(token)"])
            }
            func post(_ resource: JSON, _ token: String) async throws -> FHIRTestResponse {
                try await http.send(.post, "/fhir/Observation", json: resource, headers: ["Authorization": "Bearer \(token)"])
            }
            // Linked physician: sees and writes.
            #expect(try await get("/fhir/Patient", tokenA).matchIDs == [patient])
            #expect(try await get("/fhir/Observation/\(observation)", tokenA).status == 200)
            #expect(try await post(Fixture.observation(patient: patient), tokenA).status == 201)
            // Physician of another hospital, not linked: the patient does not exist for them.
            #expect(try await get("/fhir/Patient", tokenB).matchIDs.isEmpty)
            #expect(try await get("/fhir/Patient/\(patient)", tokenB).status == 404)
            #expect(try await get("/fhir/Observation?subject=Patient/\(patient)", tokenB).matchIDs.isEmpty)
            #expect(try await post(Fixture.observation(patient: patient), tokenB).status == 403)
            // The secretary sees the patient's demographics, not the observations.
            #expect(try await get("/fhir/Patient/\(patient)", secretary).status == 200)
            #expect(try await get("/fhir/Observation/\(observation)", secretary).status == 404)
            // The patient reads their record and changes nothing.
            #expect(try await get("/fhir/Observation/\(observation)", patientToken).status == 200)
            let everything = try await get("/fhir/Patient/\(patient)/$everything", patientToken)
            #expect(everything.status == 200)
            #expect(try await post(Fixture.observation(patient: patient), patientToken).status == 403)
            let own = try await get("/fhir/Patient/\(patient)", patientToken).json
            let update = try await http.send(.put, "/fhir/Patient/\(patient)", json: own, headers: ["Authorization": "Bearer \(patientToken)"])
            #expect(update.status == 403)
            // Care links are managed by Identity, not written through FHIR by a physician.
            let link: JSON = ["resourceType": "CareTeam", "status": "active", "subject": ["reference": .string("Patient/\(patient)")]]
            let linked = try await http.send(.post, "/fhir/CareTeam", json: link, headers: ["Authorization": "Bearer \(tokenB)"])
            #expect(linked.status == 403)
        }
    }

    @Test func anAccountThatHasNotChosenItsPasswordGetsNothingFromFHIR() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            try await setup.api.create("/api/v1/staff", ["username": "nouveau", "family": "N", "role": "nurse"], token: setup.adminA)
            let pending = try await setup.api.login("nouveau", "mediconnect").json["access_token"]?.stringValue ?? ""
            #expect(try await http.get("/fhir/Patient", headers: ["Authorization": "Bearer \(pending)"]).status == 403)
        }
    }

    @Test func aBackendClientIsBoundByItsScopes() async throws {
        try await withTestApp { http in
            let patient = try await http.create(Fixture.patient(family: "Portée"))
            let observation = try await http.create(Fixture.observation(patient: patient))
            let api = APITestClient(http: http)
            let registered = try await api.create(
                "/api/v1/admin/oauth-clients", ["name": "lecteur", "grant_types": ["client_credentials"], "scope": "system/Patient.rs"],
                token: http.superAdminToken ?? "")
            let form = "grant_type=client_credentials&client_id=\(registered["client_id"]?.stringValue ?? "")&client_secret=\(registered["client_secret"]?.stringValue ?? "")"
            let wider = try await http.send(.post, "/oauth2/token", body: form + "&scope=system/*.*", contentType: "application/x-www-form-urlencoded")
            #expect(wider.status == 400)
            #expect(wider.json["error"]?.stringValue == "invalid_scope")
            let wrongSecret = try await http.send(
                .post, "/oauth2/token", body: "grant_type=client_credentials&client_id=\(registered["client_id"]?.stringValue ?? "")&client_secret=x",
                contentType: "application/x-www-form-urlencoded")
            #expect(wrongSecret.status == 401)
            let issued = try await http.send(.post, "/oauth2/token", body: form, contentType: "application/x-www-form-urlencoded")
            let token = issued.json["access_token"]?.stringValue ?? ""
            let auth = ["Authorization": "Bearer \(token)"]
            #expect(try await http.get("/fhir/Patient/\(patient)", headers: auth).status == 200)
            #expect(try await http.get("/fhir/Observation/\(observation)", headers: auth).status == 404)
            let write = try await http.send(.post, "/fhir/Patient", json: Fixture.patient(family: "Refusé"), headers: auth)
            #expect(write.status == 403)
        }
    }
}
