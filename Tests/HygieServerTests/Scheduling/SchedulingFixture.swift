import FHIR
import Foundation
import HTTPTypes
import Testing

/// Two hospitals with a physician and a secretary each, a second physician at A, and a
/// patient created by B's secretary and linked to B's first physician, all signed in; the
/// two A physicians and B's second one publish the same hours (every day 09:00–12:00, 30 min).
struct SchedulingFixture {
    let hospitals: TwoHospitals
    var api: APITestClient { hospitals.api }
    /// Practitioner ids and tokens.
    let doctorA: String, doctorAToken: String
    let doctorA2: String, doctorA2Token: String
    let doctorB: String, doctorBToken: String
    let familyDoctorB: String, familyDoctorBToken: String
    let secretaryA: String
    let secretaryB: String
    let patient: String, patientToken: String
    let otherPatient: String, otherPatientToken: String

    static let hours: JSON = [
        "appointment_types": [["code": "consultation", "label": "Consultation", "minutes": 30]],
        "opening_hours": .array((1...7).map { ["weekday": .number(JSONNumber($0)), "start": "09:00", "end": "12:00", "type": "consultation"] }),
        "horizon_days": 21,
    ]

    static func make(_ http: FHIRTestClient) async throws -> SchedulingFixture {
        let hospitals = try await TwoHospitals.make(http)
        let api = hospitals.api
        func physician(_ username: String, _ specialty: String, by admin: String) async throws -> (String, String) {
            let view = try await api.create(
                "/api/v1/staff", ["username": .string(username), "family": "Médecin", "given": .string(username), "role": "physician", "specialty": .string(specialty)],
                token: admin)
            return (view["practitioner"]?.stringValue ?? "", try await api.firstSignIn(username))
        }
        let (doctorA, doctorAToken) = try await physician("dr.a", "cardiology", by: hospitals.adminA)
        let (doctorA2, doctorA2Token) = try await physician("dr.a2", "cardiology", by: hospitals.adminA)
        let (doctorB, doctorBToken) = try await physician("dr.b", "radiology", by: hospitals.adminB)
        let (familyDoctorB, familyDoctorBToken) = try await physician("dr.famille", "general-practice", by: hospitals.adminB)
        let (_, secretaryA) = try await hospitals.staff("sec.a", role: "secretary", by: hospitals.adminA)
        let (_, secretaryB) = try await hospitals.staff("sec.b", role: "secretary", by: hospitals.adminB)
        func makePatient(_ username: String) async throws -> (String, String) {
            let view = try await api.create(
                "/api/v1/patients", ["username": .string(username), "family": "Durand", "given": .string(username), "physicians": [.string(familyDoctorB)]],
                token: secretaryB)
            return (view["patient"]?.stringValue ?? "", try await api.firstSignIn(username))
        }
        let (patient, patientToken) = try await makePatient("camille")
        let (otherPatient, otherPatientToken) = try await makePatient("louis")
        for (practitioner, token) in [(doctorA, doctorAToken), (doctorA2, doctorA2Token)] {
            let saved = try await api.call(.put, "/api/v1/physicians/\(practitioner)/availability", hours, token: token)
            #expect(saved.status == 200, "availability: \(saved.text)")
        }
        // A secretary publishes for a physician of her hospital.
        let saved = try await api.call(.put, "/api/v1/physicians/\(doctorB)/availability", hours, token: secretaryB)
        #expect(saved.status == 200, "availability by the secretary: \(saved.text)")
        return SchedulingFixture(
            hospitals: hospitals, doctorA: doctorA, doctorAToken: doctorAToken, doctorA2: doctorA2, doctorA2Token: doctorA2Token, doctorB: doctorB,
            doctorBToken: doctorBToken, familyDoctorB: familyDoctorB, familyDoctorBToken: familyDoctorBToken, secretaryA: secretaryA, secretaryB: secretaryB, patient: patient,
            patientToken: patientToken, otherPatient: otherPatient, otherPatientToken: otherPatientToken)
    }

    /// Free slots of a physician, soonest first.
    func freeSlots(_ practitioner: String, token: String, limit: Int = 50) async throws -> [JSON] {
        let response = try await api.call(.get, "/api/v1/availability?practitioner=\(practitioner)&limit=\(limit)", token: token)
        #expect(response.status == 200, "availability search: \(response.text)")
        return response.json["items"]?.arrayValue ?? []
    }

    func request(_ practitioner: String, slot: String?, reason: String? = nil, token: String) async throws -> FHIRTestResponse {
        var body: JSONObject = ["practitioner": .string(practitioner)]
        if let slot { body["slot"] = .string(slot) }
        if let reason { body["reason"] = .string(reason) }
        return try await api.call(.post, "/api/v1/appointments", .object(body), token: token)
    }
}
