import FHIR
import HTTPTypes
import Testing

/// The account rules of issue 3, through `/api/v1`, each as its own test.
@Suite struct AccountRulesTests {
    @Test func theFirstSuperAdminCanDoNothingBeforeChoosingAPassword() async throws {
        try await withTestApp(systemClient: false) { http in
            let api = APITestClient(http: http)
            let first = try await api.login("superadmin", "mediconnect")
            #expect(first.status == 200)
            #expect(first.json["must_change_password"]?.boolValue == true)
            let token = first.json["access_token"]?.stringValue ?? ""
            let blocked = try await api.call(.get, "/api/v1/admin/hospitals", token: token)
            #expect(blocked.status == 403)
            #expect(blocked.json["code"]?.stringValue == "password-change-required")
            let me = try await api.call(.get, "/api/v1/auth/me", token: token)
            #expect(me.json["role"]?.stringValue == "super-admin")
            let same = try await api.call(.post, "/api/v1/auth/password", ["current_password": "mediconnect", "new_password": "mediconnect"], token: token)
            #expect(same.status == 400)
            let changed = try await api.call(.post, "/api/v1/auth/password", ["current_password": "mediconnect", "new_password": "Nouveau-secret-42"], token: token)
            #expect(changed.status == 204)
            let again = try await api.login("superadmin", "Nouveau-secret-42")
            let allowed = try await api.call(.get, "/api/v1/admin/hospitals", token: again.json["access_token"]?.stringValue)
            #expect(allowed.status == 200)
            let old = try await api.login("superadmin", "mediconnect")
            #expect(old.status == 401)
        }
    }

    @Test func onlyASuperAdminManagesHospitalsAndHospitalAdmins() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let byAdmin = try await api.call(.post, "/api/v1/admin/hospitals", ["name": "Clinique"], token: setup.adminA)
            #expect(byAdmin.status == 403)
            let rename = try await api.call(.patch, "/api/v1/admin/hospitals/\(setup.hospitalA)", ["name": "Renommé"], token: setup.adminA)
            #expect(rename.status == 403)
            let adminByAdmin = try await api.call(
                .post, "/api/v1/admin/hospital-admins", ["username": "intrus", "family": "X", "hospital": .string(setup.hospitalA)], token: setup.adminA)
            #expect(adminByAdmin.status == 403)
            let unbound = try await api.call(.post, "/api/v1/admin/hospital-admins", ["username": "sans.hopital", "family": "X"], token: setup.superAdmin)
            #expect(unbound.status == 400)
            let unknown = try await api.call(
                .post, "/api/v1/admin/hospital-admins", ["username": "nulle.part", "family": "X", "hospital": "nope"], token: setup.superAdmin)
            #expect(unknown.status == 400)
            let deactivate = try await api.call(.patch, "/api/v1/admin/hospitals/\(setup.hospitalB)", ["active": false], token: setup.superAdmin)
            #expect(deactivate.json["active"]?.boolValue == false)
            let occupied = try await api.call(.delete, "/api/v1/admin/hospitals/\(setup.hospitalB)", token: setup.superAdmin)
            #expect(occupied.status == 409)
        }
    }

    @Test func aHospitalAdminManagesTheStaffOfTheirOwnHospitalOnly() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let nurse = try await api.create("/api/v1/staff", ["username": "infirmiere.a", "family": "Durand", "role": "nurse"], token: setup.adminA)
            #expect(nurse["hospital"]?.stringValue == setup.hospitalA)
            let named = try await api.call(
                .post, "/api/v1/staff", ["username": "x.a", "family": "X", "role": "nurse", "hospital": .string(setup.hospitalB)], token: setup.adminA)
            #expect(named.status == 400)
            let id = nurse["id"]?.stringValue ?? ""
            let other = try await api.call(.patch, "/api/v1/accounts/\(id)", ["active": false], token: setup.adminB)
            #expect(other.status == 403)
            let otherDelete = try await api.call(.delete, "/api/v1/accounts/\(id)", token: setup.adminB)
            #expect(otherDelete.status == 403)
            let otherList = try await api.call(.get, "/api/v1/staff?hospital=\(setup.hospitalA)", token: setup.adminB)
            #expect(otherList.status == 403)
            // A second admin of the same hospital manages all of its staff.
            try await api.create(
                "/api/v1/admin/hospital-admins", ["username": "admin.a2", "family": "Admin", "hospital": .string(setup.hospitalA)], token: setup.superAdmin)
            let second = try await api.firstSignIn("admin.a2")
            let deactivated = try await api.call(.patch, "/api/v1/accounts/\(id)", ["active": false], token: second)
            #expect(deactivated.json["active"]?.boolValue == false)
            let signIn = try await api.login("infirmiere.a", "mediconnect")
            #expect(signIn.status == 401)
            let deleted = try await api.call(.delete, "/api/v1/accounts/\(id)", token: setup.adminA)
            #expect(deleted.status == 204)
            let superAdminOnStaff = try await api.call(.post, "/api/v1/staff", ["username": "y", "family": "Y", "role": "nurse"], token: setup.superAdmin)
            #expect(superAdminOnStaff.status == 403)
        }
    }

    @Test func aHospitalAdminChangesTheRoleOfTheirStaffOnly() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let nurse = try await api.create("/api/v1/staff", ["username": "devient.medecin", "family": "R", "role": "nurse"], token: setup.adminA)
            let id = nurse["id"]?.stringValue ?? ""
            #expect(try await api.call(.patch, "/api/v1/accounts/\(id)", ["role": "physician"], token: setup.adminB).status == 403)
            #expect(try await api.call(.patch, "/api/v1/accounts/\(id)", ["role": "hospital-admin"], token: setup.adminA).status == 400)
            let changed = try await api.call(.patch, "/api/v1/accounts/\(id)", ["role": "physician"], token: setup.adminA)
            #expect(changed.json["role"]?.stringValue == "physician")
            let role = try await http.get("/fhir/PractitionerRole?practitioner=Practitioner/\(nurse["practitioner"]?.stringValue ?? "")")
            #expect(role.matches.first?["code"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue == "physician")
            let trail = try await api.call(.get, "/api/v1/admin/audit?count=500", token: setup.superAdmin)
            #expect(trail.json["items"]?.arrayValue?.contains { ($0["detail"]?.stringValue ?? "").contains("role nurse → physician") } == true)
        }
    }

    @Test func aSecretaryLinksNewPatientsToPhysiciansOfHerHospitalOnly() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let (physicianA, _) = try await setup.staff("dr.a", role: "physician", by: setup.adminA)
            let (physicianB, _) = try await setup.staff("dr.b", role: "physician", by: setup.adminB)
            let (_, secretary) = try await setup.staff("secretaire.a", role: "secretary", by: setup.adminA)
            let (_, nurse) = try await setup.staff("infirmier.a", role: "nurse", by: setup.adminA)
            let patient: JSON = ["username": "patient.un", "family": "Martin", "given": "Léa", "birth_date": "1980-02-03"]
            var unlinked = patient
            if case .object(var object) = unlinked { object["physicians"] = []; unlinked = .object(object) }
            #expect(try await api.call(.post, "/api/v1/patients", unlinked, token: secretary).status == 400)
            var foreign = patient
            if case .object(var object) = foreign { object["physicians"] = [physicianB["practitioner"] ?? .null]; foreign = .object(object) }
            #expect(try await api.call(.post, "/api/v1/patients", foreign, token: secretary).status == 422)
            #expect(try await api.call(.post, "/api/v1/patients", foreign, token: nurse).status == 403)
            var linked = patient
            if case .object(var object) = linked { object["physicians"] = [physicianA["practitioner"] ?? .null]; linked = .object(object) }
            let created = try await api.call(.post, "/api/v1/patients", linked, token: secretary)
            #expect(created.status == 201)
            #expect(created.json["role"]?.stringValue == "patient")
            #expect(created.json["hospital"] == nil)
            #expect(try await api.login("patient.un", "mediconnect").json["must_change_password"]?.boolValue == true)
        }
    }

    @Test func nobodySetsAnotherAccountsPassword() async throws {
        try await withTestApp { http in
            let setup = try await TwoHospitals.make(http)
            let api = setup.api
            let (nurse, _) = try await setup.staff("inf.mdp", role: "nurse", by: setup.adminA)
            let id = nurse["id"]?.stringValue ?? ""
            // The account update takes no password: the field is ignored, the password stays.
            _ = try await api.call(.patch, "/api/v1/accounts/\(id)", ["password": "Choisi-par-admin-1"], token: setup.superAdmin)
            _ = try await api.call(.patch, "/api/v1/accounts/\(id)", ["password": "Choisi-par-admin-1"], token: setup.adminA)
            #expect(try await api.login("inf.mdp", "Choisi-par-admin-1").status == 401)
            #expect(try await api.login("inf.mdp", "Un-mot-de-passe-2026").status == 200)
            // Changing one's own password needs the current one.
            let token = try await api.login("inf.mdp", "Un-mot-de-passe-2026").json["access_token"]?.stringValue
            let guess = try await api.call(.post, "/api/v1/auth/password", ["current_password": "devine", "new_password": "Autre-secret-99"], token: token)
            #expect(guess.status == 403)
        }
    }

    @Test func aReusedRefreshTokenRevokesItsWholeSignIn() async throws {
        try await withTestApp { http in
            let api = APITestClient(http: http)
            let signIn = try await api.login("superadmin", TestPassword.standard)
            let first = signIn.json["refresh_token"]?.stringValue ?? ""
            let rotated = try await api.call(.post, "/api/v1/auth/refresh", ["refresh_token": .string(first)])
            #expect(rotated.status == 200)
            let second = rotated.json["refresh_token"]?.stringValue ?? ""
            #expect(second != first)
            let replay = try await api.call(.post, "/api/v1/auth/refresh", ["refresh_token": .string(first)])
            #expect(replay.status == 401)
            #expect(replay.json["code"]?.stringValue == "refresh-token-reused")
            let afterReplay = try await api.call(.post, "/api/v1/auth/refresh", ["refresh_token": .string(second)])
            #expect(afterReplay.status == 401)
        }
    }

    @Test func repeatedFailedSignInsAreThrottled() async throws {
        try await withTestApp(systemClient: false) { http in
            let api = APITestClient(http: http)
            for _ in 0..<4 { #expect(try await api.login("superadmin", "faux").status == 401) }
            let throttled = try await api.login("superadmin", "mediconnect")
            #expect(throttled.status == 429)
            #expect(Int(throttled.header("Retry-After") ?? "") ?? 0 > 0)
        }
    }

    @Test func requestsWithoutAValidTokenAreRefused() async throws {
        try await withTestApp { http in
            let api = APITestClient(http: http)
            let none = try await api.call(.get, "/api/v1/auth/me")
            #expect(none.status == 401)
            #expect(none.header("WWW-Authenticate") == "Bearer")
            #expect(try await api.call(.get, "/api/v1/auth/me", token: "abc.def.ghi").status == 401)
        }
    }
}
