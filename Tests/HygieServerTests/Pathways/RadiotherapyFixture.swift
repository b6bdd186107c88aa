import FHIR
import Foundation
import HTTPTypes
import Testing

/// Hospital A's radiotherapy department: a technologist, a physicist, a dosimetrist, a
/// coordinator and a radiation oncologist, a secretary who registered one patient linked to
/// the oncologist, and a treatment machine; hospital B has a technologist of its own.
struct RadiotherapyFixture {
    let hospitals: TwoHospitals
    var api: APITestClient { hospitals.api }
    let technologist: String
    let physicist: String, physicistID: String
    let dosimetrist: String, dosimetristID: String
    let coordinator: String
    let oncologist: String, oncologistID: String
    let otherPhysician: String
    let foreignTechnologist: String
    let patient: String
    let machine: String

    static func make(_ http: FHIRTestClient) async throws -> RadiotherapyFixture {
        let hospitals = try await TwoHospitals.make(http)
        let api = hospitals.api
        func staff(_ username: String, _ role: String, specialty: String? = nil, admin: String? = nil) async throws -> (String, String) {
            var body: JSONObject = ["username": .string(username), "family": "Soignant", "given": .string(username), "role": .string(role)]
            if let specialty { body["specialty"] = .string(specialty) }
            let view = try await api.create("/api/v1/staff", .object(body), token: admin ?? hospitals.adminA)
            return (view["practitioner"]?.stringValue ?? "", try await api.firstSignIn(username))
        }
        let (_, technologist) = try await staff("manip.a", "radiotherapy-technologist")
        let (physicistID, physicist) = try await staff("physicien.a", "medical-physicist")
        let (dosimetristID, dosimetrist) = try await staff("dosi.a", "dosimetrist")
        let (_, coordinator) = try await staff("chef.a", "coordinator")
        let (oncologistID, oncologist) = try await staff("onco.a", "physician", specialty: "radiation-oncology")
        let (_, otherPhysician) = try await staff("cardio.a", "physician", specialty: "cardiology")
        let (_, secretary) = try await staff("sec.a", "secretary")
        let (_, foreignTechnologist) = try await staff("manip.b", "radiotherapy-technologist", admin: hospitals.adminB)
        let patient = try await api.create(
            "/api/v1/patients", ["username": "jeanne", "family": "Martin", "given": "Jeanne", "physicians": [.string(oncologistID)]], token: secretary
        )["patient"]?.stringValue ?? ""
        let machine = try await api.create("/api/v1/pathways/machines", ["name": "Halcyon 1"], token: physicist)["id"]?.stringValue ?? ""
        return RadiotherapyFixture(
            hospitals: hospitals, technologist: technologist, physicist: physicist, physicistID: physicistID, dosimetrist: dosimetrist,
            dosimetristID: dosimetristID, coordinator: coordinator, oncologist: oncologist, oncologistID: oncologistID, otherPhysician: otherPhysician,
            foreignTechnologist: foreignTechnologist, patient: patient, machine: machine)
    }

    /// A case opened by the technologist on the machine, with `sessions` planned.
    func openCase(sessions: Int = 2) async throws -> String {
        let opened = try await api.call(
            .post, "/api/v1/pathways/cases",
            [
                "patient": .string(patient), "priority": "urgent", "machine": .string(machine), "protocol_name": "Sein 50 Gy / 25 fr",
                "pathology": "Sein gauche", "referring_physician": .string(oncologistID), "planned_sessions": .number(JSONNumber(sessions)),
            ], token: technologist)
        #expect(opened.status == 201, "open: \(opened.text)")
        return opened.json["id"]?.stringValue ?? ""
    }

    func move(_ id: String, to stage: String, comment: String? = nil, token: String) async throws -> FHIRTestResponse {
        var body: JSONObject = ["to": .string(stage)]
        if let comment { body["comment"] = .string(comment) }
        return try await api.call(.post, "/api/v1/pathways/cases/\(id)/transition", .object(body), token: token)
    }

    func tick(_ id: String, _ stage: String, _ items: [String], token: String) async throws {
        let body: JSON = ["items": .object(JSONObject(items.map { (key: $0, value: JSON.bool(true)) }))]
        let response = try await api.call(.put, "/api/v1/pathways/cases/\(id)/checklists/\(stage)", body, token: token)
        #expect(response.status == 200, "tick \(stage): \(response.text)")
    }

    /// Ticks each stage's mandatory items and moves the case on, by the role the table names,
    /// until it is in `stage` (at most "Prêt pour traitement": treatment needs the machine's QA).
    func walk(_ id: String, to stage: String) async throws {
        let steps: [(tick: (String, [String], String)?, to: String, by: String)] = [
            (("to-prepare", ["identity-verified", "imaging-imported"], technologist), "prescription-validated", oncologist),
            (("prescription-validated", ["prescription-signed"], oncologist), "contours-validated", oncologist),
            (("contours-validated", ["contours-locked"], oncologist), "plan-in-review", dosimetrist),
            (("plan-in-review", ["dosimetric-qa"], dosimetrist), "plan-validated", physicist),
            (("plan-validated", ["oncologist-signature"], oncologist), "ready-for-treatment", oncologist),
        ]
        for step in steps {
            if let (from, items, token) = step.tick { try await tick(id, from, items, token: token) }
            let moved = try await move(id, to: step.to, token: step.by)
            #expect(moved.status == 200, "walk to \(step.to): \(moved.text)")
            if step.to == stage { return }
        }
    }

    /// Today's daily QA of the machine, every test within tolerance unless `failing`.
    func recordDailyQA(failing: Bool = false, validate: Bool = true) async throws -> FHIRTestResponse {
        let results: JSON = [
            ["test": "output-6mv", "value": .number(JSONNumber(failing ? 104.0 : 100.4))],
            ["test": "output-10mv", "value": .number(JSONNumber(99.8))],
            ["test": "lasers", "value": .number(JSONNumber(0.5))],
            ["test": "odi", "value": 1],
            ["test": "door-interlock", "value": true],
            ["test": "beam-status", "value": "working"],
        ]
        return try await api.call(
            .post, "/api/v1/pathways/machines/\(machine)/qa", ["frequency": "daily", "results": results, "validate": .bool(validate)], token: physicist)
    }
}
