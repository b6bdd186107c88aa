import Core
import FHIR
import HTTPTypes
import Testing

/// The permission matrix of issue 3: every role × every action × own or other hospital ×
/// linked or unlinked patient, on `/api/v1` and `/fhir`, each cell with the status it must
/// answer. Roles are seen from hospital A; patient P is linked to A's physician, Q to B's.
@Suite struct PermissionMatrixTests {
    enum Actor: String, CaseIterable {
        case superAdmin, adminA, physicianA, secretaryA, nurseA, technologistA, physicistA, dosimetristA, coordinatorA, patientP
    }

    struct World {
        let tokens: [Actor: String]
        let hospitalA: String
        let physicianA: String, physicianB: String
        let nurseA: String, nurseB: String
        let patientP: String, patientQ: String
        let observationP: String, observationQ: String
    }

    static func world(_ http: FHIRTestClient) async throws -> World {
        let setup = try await TwoHospitals.make(http)
        let api = setup.api
        var tokens: [Actor: String] = [.superAdmin: setup.superAdmin, .adminA: setup.adminA]
        let (physicianA, physicianAToken) = try await setup.staff("m.dr.a", role: "physician", by: setup.adminA)
        let (physicianB, _) = try await setup.staff("m.dr.b", role: "physician", by: setup.adminB)
        let (nurseA, nurseAToken) = try await setup.staff("m.inf.a", role: "nurse", by: setup.adminA)
        let (nurseB, _) = try await setup.staff("m.inf.b", role: "nurse", by: setup.adminB)
        let (_, secretaryA) = try await setup.staff("m.sec.a", role: "secretary", by: setup.adminA)
        let (_, secretaryB) = try await setup.staff("m.sec.b", role: "secretary", by: setup.adminB)
        tokens[.physicianA] = physicianAToken
        tokens[.nurseA] = nurseAToken
        tokens[.secretaryA] = secretaryA
        for (actor, role) in [(Actor.technologistA, "radiotherapy-technologist"), (.physicistA, "medical-physicist"), (.dosimetristA, "dosimetrist"), (.coordinatorA, "coordinator")] {
            tokens[actor] = try await setup.staff("m.\(role)", role: role, by: setup.adminA).1
        }
        let p = try await api.create(
            "/api/v1/patients", ["username": "m.patient.p", "family": "P", "physicians": [physicianA["practitioner"] ?? .null]], token: secretaryA)
        let q = try await api.create(
            "/api/v1/patients", ["username": "m.patient.q", "family": "Q", "physicians": [physicianB["practitioner"] ?? .null]], token: secretaryB)
        tokens[.patientP] = try await api.firstSignIn("m.patient.p")
        let patientP = p["patient"]?.stringValue ?? "", patientQ = q["patient"]?.stringValue ?? ""
        return World(
            tokens: tokens, hospitalA: setup.hospitalA, physicianA: physicianA["practitioner"]?.stringValue ?? "",
            physicianB: physicianB["practitioner"]?.stringValue ?? "", nurseA: nurseA["id"]?.stringValue ?? "", nurseB: nurseB["id"]?.stringValue ?? "",
            patientP: patientP, patientQ: patientQ, observationP: try await http.create(Fixture.observation(patient: patientP)),
            observationQ: try await http.create(Fixture.observation(patient: patientQ)))
    }

    struct Row {
        let action: String
        /// Sends the request as the bearer of `token`; `unique` keeps usernames apart.
        let send: @Sendable (FHIRTestClient, World, String, String) async throws -> Int
        /// The status each actor must get; actors not named get `otherwise`.
        let expected: [Actor: Int]
        let otherwise: Int
    }

    static func api(_ method: HTTPRequest.Method, _ path: @escaping @Sendable (World) -> String, _ body: (@Sendable (World, String) -> JSON)? = nil) -> @Sendable (FHIRTestClient, World, String, String) async throws -> Int {
        { http, world, token, unique in
            try await APITestClient(http: http).call(method, path(world), body?(world, unique), token: token).status
        }
    }

    static func fhir(_ method: HTTPRequest.Method, _ path: @escaping @Sendable (World) -> String, _ body: (@Sendable (World) -> JSON)? = nil) -> @Sendable (FHIRTestClient, World, String, String) async throws -> Int {
        { http, world, token, _ in
            try await http.send(method, path(world), json: body?(world), headers: ["Authorization": "Bearer \(token)"]).status
        }
    }

    static let clinicalReaders: [Actor: Int] = [.physicianA: 200, .nurseA: 200, .technologistA: 200, .physicistA: 200, .dosimetristA: 200, .coordinatorA: 200, .patientP: 200]
    static let clinicalWriters: [Actor: Int] = [.physicianA: 201, .technologistA: 201, .physicistA: 201, .dosimetristA: 201, .coordinatorA: 201]

    static let rows: [Row] = [
        Row(action: "create a hospital", send: api(.post, { _ in "/api/v1/admin/hospitals" }, { _, unique in ["name": .string("H \(unique)")] }),
            expected: [.superAdmin: 201], otherwise: 403),
        Row(action: "create a hospital admin", send: api(.post, { _ in "/api/v1/admin/hospital-admins" }, { world, unique in
            ["username": .string("ha.\(unique)"), "family": "X", "hospital": .string(world.hospitalA)] }),
            expected: [.superAdmin: 201], otherwise: 403),
        Row(action: "create staff (own hospital)", send: api(.post, { _ in "/api/v1/staff" }, { _, unique in
            ["username": .string("st.\(unique)"), "family": "X", "role": "nurse"] }),
            expected: [.adminA: 201], otherwise: 403),
        Row(action: "edit staff of own hospital", send: api(.patch, { "/api/v1/accounts/\($0.nurseA)" }, { _, _ in ["active": true] }),
            expected: [.adminA: 200], otherwise: 403),
        Row(action: "edit staff of other hospital", send: api(.patch, { "/api/v1/accounts/\($0.nurseB)" }, { _, _ in ["active": true] }),
            expected: [:], otherwise: 403),
        Row(action: "create a patient linked to own hospital's physician", send: api(.post, { _ in "/api/v1/patients" }, { world, unique in
            ["username": .string("pa.\(unique)"), "family": "X", "physicians": [.string(world.physicianA)]] }),
            expected: [.secretaryA: 201], otherwise: 403),
        Row(action: "create a patient linked to other hospital's physician", send: api(.post, { _ in "/api/v1/patients" }, { world, unique in
            ["username": .string("pb.\(unique)"), "family": "X", "physicians": [.string(world.physicianB)]] }),
            expected: [.secretaryA: 422], otherwise: 403),
        Row(action: "read the audit trail", send: api(.get, { _ in "/api/v1/admin/audit" }), expected: [.superAdmin: 200, .adminA: 200], otherwise: 403),
        Row(action: "read linked patient P", send: fhir(.get, { "/fhir/Patient/\($0.patientP)" }),
            expected: clinicalReaders.merging([.secretaryA: 200]) { first, _ in first }, otherwise: 404),
        Row(action: "read unlinked patient Q", send: fhir(.get, { "/fhir/Patient/\($0.patientQ)" }), expected: [:], otherwise: 404),
        Row(action: "read P's observation", send: fhir(.get, { "/fhir/Observation/\($0.observationP)" }), expected: clinicalReaders, otherwise: 404),
        Row(action: "read Q's observation", send: fhir(.get, { "/fhir/Observation/\($0.observationQ)" }), expected: [:], otherwise: 404),
        Row(action: "write an observation for P", send: fhir(.post, { _ in "/fhir/Observation" }, { Fixture.observation(patient: $0.patientP) }),
            expected: clinicalWriters, otherwise: 403),
        Row(action: "write an observation for Q", send: fhir(.post, { _ in "/fhir/Observation" }, { Fixture.observation(patient: $0.patientQ) }),
            expected: [:], otherwise: 403),
        Row(action: "change a care link", send: fhir(.post, { _ in "/fhir/CareTeam" }, { world in
            ["resourceType": "CareTeam", "status": "active", "subject": ["reference": .string("Patient/\(world.patientP)")],
             "participant": [["member": ["reference": .string("Practitioner/\(world.physicianB)")]]]] }),
            expected: [:], otherwise: 403),
    ]

    @Test func everyRoleGetsExactlyWhatTheRulesSay() async throws {
        try await withTestApp { http in
            let world = try await Self.world(http)
            var mismatches: [String] = []
            for (index, row) in Self.rows.enumerated() {
                for actor in Actor.allCases {
                    let expected = row.expected[actor] ?? row.otherwise
                    let status = try await row.send(http, world, world.tokens[actor] ?? "", "\(index).\(actor.rawValue.lowercased())")
                    if status != expected { mismatches.append("\(actor.rawValue) · \(row.action): \(status), expected \(expected)") }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
            #expect(Self.rows.count * Actor.allCases.count == 150)
        }
    }
}
