import Access
import Core
import FHIR
import FHIRStore
import HygieServer
import Identity
import Testing

/// The policy engine's grants, applied by FHIRStore in SQL: who sees which patient's record.
@Suite struct ClinicalGrantTests {
    /// Two hospitals; physician A1 and A2 and a secretary and nurse at A, physician B1 at B;
    /// one patient linked to A1, one linked to A1 and B1, one linked to nobody.
    struct World {
        let platform: Platform
        let tenant: TenantID
        let physicianA1: Account, physicianA2: Account, physicianB1: Account
        let secretaryA: Account, nurseA: Account
        let onlyA1: Account, shared: Account
        let unlinked: String

        static func make(_ platform: Platform, tenant: TenantID) async throws -> World {
            let identity = platform.identity
            let root = try #require(try await identity.createSuperAdmin(username: "root", email: nil, tenant: tenant)).principal()
            let a = try await identity.createHospital(by: root, name: "A", finess: nil).id
            let b = try await identity.createHospital(by: root, name: "B", finess: nil).id
            let adminA = try await identity.createHospitalAdmin(by: root, .init(username: "adm.a", email: nil, given: "", family: "A", role: .hospitalAdmin), hospital: a)
            let adminB = try await identity.createHospitalAdmin(by: root, .init(username: "adm.b", email: nil, given: "", family: "B", role: .hospitalAdmin), hospital: b)
            func staff(_ name: String, _ role: Role, _ admin: Account) async throws -> Account {
                try await identity.createStaff(by: admin.principal(), .init(username: name, email: nil, given: "", family: name, role: role))
            }
            let a1 = try await staff("dr.a1", .physician, adminA), a2 = try await staff("dr.a2", .physician, adminA)
            let b1 = try await staff("dr.b1", .physician, adminB)
            let secretary = try await staff("sec.a", .secretary, adminA), nurse = try await staff("nurse.a", .nurse, adminA)
            let secretaryB = try await staff("sec.b", .secretary, adminB)
            let onlyA1 = try await identity.createPatient(
                by: secretary.principal(), .init(username: "p.a1", email: nil, given: "", family: "P1", role: .patient), physicians: [a1.practitioner!])
            let shared = try await identity.createPatient(
                by: secretary.principal(), .init(username: "p.shared", email: nil, given: "", family: "P2", role: .patient), physicians: [a1.practitioner!])
            // The second hospital's secretary links the shared patient to its physician too.
            _ = secretaryB
            let careTeams = try await platform.fhir.search(
                try SearchQuery.parse(resourceType: "CareTeam", parameters: [("subject", "Patient/\(shared.patient!)")]), as: .system(tenant))
            var team = try careTeams.matches[0].json()
            if case .object(var object) = team {
                object["participant"] = [["member": ["reference": .string("Practitioner/\(a1.practitioner!)")]], ["member": ["reference": .string("Practitioner/\(b1.practitioner!)")]]]
                team = .object(object)
            }
            _ = try await platform.fhir.update(team, type: "CareTeam", id: team["id"]!.stringValue!, as: .system(tenant))
            let unlinked = try await platform.fhir.create(Fixture.patient(family: "Seul"), type: "Patient", as: .system(tenant)).resource!.id
            for patient in [onlyA1.patient!, shared.patient!, unlinked] {
                _ = try await platform.fhir.create(Fixture.observation(patient: patient), type: "Observation", as: .system(tenant))
            }
            return World(
                platform: platform, tenant: tenant, physicianA1: a1, physicianA2: a2, physicianB1: b1, secretaryA: secretary, nurseA: nurse,
                onlyA1: onlyA1, shared: shared, unlinked: unlinked)
        }

        func patients(seenBy account: Account) async throws -> Set<String> {
            let query = try SearchQuery.parse(resourceType: "Patient", parameters: [])
            return Set(try await platform.fhir.search(query, as: Policy.caller(account.principal())).matches.map(\.id))
        }

        func observationSubjects(seenBy account: Account) async throws -> Set<String> {
            let query = try SearchQuery.parse(resourceType: "Observation", parameters: [("_include", "Observation:subject")])
            let result = try await platform.fhir.search(query, as: Policy.caller(account.principal()))
            #expect(result.included.allSatisfy { $0.type == "Patient" })
            return Set(try result.matches.map { try $0.json()["subject"]?["reference"]?.stringValue ?? "" })
        }
    }

    @Test func aPhysicianSeesOnlyTheRecordsOfPatientsLinkedToThem() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let world = try await World.make(platforms[0], tenant: configuration.defaultTenant)
            #expect(try await world.patients(seenBy: world.physicianA1) == [world.onlyA1.patient!, world.shared.patient!])
            #expect(try await world.patients(seenBy: world.physicianB1) == [world.shared.patient!])
            #expect(try await world.patients(seenBy: world.physicianA2).isEmpty)
            #expect(try await world.observationSubjects(seenBy: world.physicianB1) == ["Patient/\(world.shared.patient!)"])
            let a2 = Policy.caller(world.physicianA2.principal())
            await #expect(throws: FHIRError.notFound("Patient/\(world.unlinked) does not exist.")) {
                _ = try await world.platform.fhir.read("Patient", world.unlinked, as: a2)
            }
            let history = try await world.platform.fhir.history(.type("Observation"), since: nil, count: 50, cursor: nil, as: a2)
            #expect(history.entries.isEmpty)
            // Writing into an unlinked patient's record is refused; a linked one's is allowed.
            await #expect(throws: FHIRError.self) {
                _ = try await world.platform.fhir.create(Fixture.observation(patient: world.unlinked), type: "Observation", as: a2)
            }
            let a1 = Policy.caller(world.physicianA1.principal())
            let written = try await world.platform.fhir.create(Fixture.observation(patient: world.onlyA1.patient!), type: "Observation", as: a1)
            #expect(written.kind == .created)
            // Links are managed by Identity, not written by a physician through FHIR.
            await #expect(throws: FHIRError.self) {
                _ = try await world.platform.fhir.create(
                    ["resourceType": "CareTeam", "status": "active", "subject": ["reference": .string("Patient/\(world.unlinked)")]], type: "CareTeam", as: a2)
            }
        }
    }

    @Test func aPatientReadsTheirOwnRecordAndChangesNothing() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let world = try await World.make(platforms[0], tenant: configuration.defaultTenant)
            #expect(try await world.patients(seenBy: world.onlyA1) == [world.onlyA1.patient!])
            #expect(try await world.observationSubjects(seenBy: world.onlyA1) == ["Patient/\(world.onlyA1.patient!)"])
            let own = Policy.caller(world.onlyA1.principal())
            await #expect(throws: FHIRError.self) {
                _ = try await world.platform.fhir.create(Fixture.observation(patient: world.onlyA1.patient!), type: "Observation", as: own)
            }
            let patient = try await world.platform.fhir.read("Patient", world.onlyA1.patient!, as: own)
            await #expect(throws: FHIRError.forbidden("You may read Patient/\(world.onlyA1.patient!) but not change it.")) {
                _ = try await world.platform.fhir.update(try patient.json(), type: "Patient", id: patient.id, as: own)
            }
        }
    }

    @Test func hospitalStaffSeeThePatientsOfTheirHospitalsPhysicians() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let world = try await World.make(platforms[0], tenant: configuration.defaultTenant)
            let hospitalPatients: Set = [world.onlyA1.patient!, world.shared.patient!]
            #expect(try await world.patients(seenBy: world.nurseA) == hospitalPatients)
            #expect(try await world.observationSubjects(seenBy: world.nurseA).count == 2)
            // Secretaries see demographics, not clinical entries.
            #expect(try await world.patients(seenBy: world.secretaryA) == hospitalPatients)
            #expect(try await world.observationSubjects(seenBy: world.secretaryA).isEmpty)
            let nurse = Policy.caller(world.nurseA.principal())
            await #expect(throws: FHIRError.self) {
                _ = try await world.platform.fhir.create(Fixture.observation(patient: world.onlyA1.patient!), type: "Observation", as: nurse)
            }
        }
    }
}
