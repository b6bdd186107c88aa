import FHIR
import Foundation
import HTTPTypes
import Testing

/// Physicians keep the record of their linked patients; patients read it (issue 4).
@Suite struct MedicalRecordTests {
    @Test func aLinkedPhysicianKeepsEveryKindOfEntryAndThePatientReadsThem() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let api = f.api
            let doctor = f.familyDoctorBToken
            let entries: [JSON] = [
                ["kind": "consultation", "patient": .string(f.patient), "title": "Bilan annuel", "date": "2026-01-10", "note": "Tension 13/8 <stable>"],
                ["kind": "condition", "patient": .string(f.patient), "title": "Hypertension artérielle", "date": "2020-05-01",
                 "code": ["system": "http://hl7.org/fhir/sid/icd-10", "code": "I10"]],
                ["kind": "allergy", "patient": .string(f.patient), "title": "Pénicillines", "criticality": "high", "reaction": "Urticaire",
                 "code": ["system": "http://www.whocc.no/atc", "code": "J01C"]],
                ["kind": "medication", "patient": .string(f.patient), "title": "Amlodipine 5 mg", "dosage": "1 comprimé le matin",
                 "period_start": "2026-01-10", "period_end": "2026-07-10", "renewal_date": "2026-07-01", "date": "2026-01-10"],
                ["kind": "immunization", "patient": .string(f.patient), "title": "Grippe saisonnière", "date": "2025-10-15", "lot": "AB123"],
                ["kind": "observation", "patient": .string(f.patient), "title": "Glycémie à jeun", "date": "2026-01-09", "value": "0,95", "unit": "g/L",
                 "code": ["system": "http://loinc.org", "code": "1558-6"]],
            ]
            var ids: [String: String] = [:]
            for entry in entries {
                let created = try await api.call(.post, "/api/v1/medical-records", entry, token: doctor)
                #expect(created.status == 201, "create \(entry["kind"]?.stringValue ?? ""): \(created.text)")
                ids[entry["kind"]?.stringValue ?? ""] = created.json["id"]?.stringValue
                #expect(created.json["author_name"]?.stringValue == "dr.famille Médecin")
            }
            let consultation = try await api.call(.get, "/api/v1/medical-records/consultation/\(ids["consultation"] ?? "")", token: doctor)
            #expect(consultation.json["note"]?.stringValue == "Tension 13/8 <stable>")
            let observation = try await api.call(.get, "/api/v1/medical-records/observation/\(ids["observation"] ?? "")", token: doctor)
            #expect(observation.json["value"]?.stringValue == "0.95")
            #expect(observation.json["code"]?["code"]?.stringValue == "1558-6")

            // The timeline: newest first, filtered by kind, paged.
            let timeline = try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)&limit=4", token: doctor)
            let kinds = timeline.json["items"]?.arrayValue?.compactMap { $0["kind"]?.stringValue }
            #expect(kinds == ["allergy", "medication", "consultation", "observation"], "dated entries first by date, then by recording time")
            let next = try #require(timeline.json["next_cursor"]?.stringValue)
            let rest = try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)&limit=4&cursor=\(next)", token: doctor)
            #expect(rest.json["items"]?.arrayValue?.count == 2)
            let allergies = try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)&kind=allergy", token: doctor)
            #expect(allergies.json["items"]?.arrayValue?.map { $0["title"]?.stringValue } == ["Pénicillines"])

            // Edit with the version read; a stale version is refused.
            var condition = try await api.call(.get, "/api/v1/medical-records/condition/\(ids["condition"] ?? "")", token: doctor).json.objectValue ?? [:]
            condition["status"] = "resolved"
            let edited = try await api.call(.put, "/api/v1/medical-records/condition/\(ids["condition"] ?? "")", .object(condition), token: doctor)
            #expect(edited.status == 200, "edit: \(edited.text)")
            #expect(edited.json["status"]?.stringValue == "resolved")
            let stale = try await api.call(.put, "/api/v1/medical-records/condition/\(ids["condition"] ?? "")", .object(condition), token: doctor)
            #expect(stale.status == 409)

            // Soft deletion: gone from the record, kept in the history.
            let deleted = try await api.call(.delete, "/api/v1/medical-records/immunization/\(ids["immunization"] ?? "")", token: doctor)
            #expect(deleted.status == 204)
            let after = try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)&kind=immunization", token: doctor)
            #expect(after.json["items"]?.arrayValue?.isEmpty == true)
            let history = try await api.call(.get, "/api/v1/medical-records/immunization/\(ids["immunization"] ?? "")/history", token: doctor)
            #expect(history.json["items"]?.arrayValue?.map { $0["method"]?.stringValue } == ["DELETE", "PUT"], "history: \(history.text)")

            // The patient reads everything, writes nothing; the same data is in /fhir.
            let own = try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)", token: f.patientToken)
            #expect(own.json["items"]?.arrayValue?.count == 5)
            let patientWrite = try await api.call(.post, "/api/v1/medical-records", entries[1], token: f.patientToken)
            #expect(patientWrite.status == 403)
            let patientDelete = try await api.call(.delete, "/api/v1/medical-records/allergy/\(ids["allergy"] ?? "")", token: f.patientToken)
            #expect(patientDelete.status == 403)
            let fhirAllergies = try await api.call(.get, "/fhir/AllergyIntolerance?patient=\(f.patient)", token: f.patientToken)
            #expect(fhirAllergies.json["entry"]?.arrayValue?.count == 1)

            // Unlinked physicians, other patients and secretaries do not read the record.
            #expect(try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)", token: f.doctorAToken).status == 404)
            #expect(try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)", token: f.otherPatientToken).status == 404)
            #expect(try await api.call(.get, "/api/v1/medical-records/allergy/\(ids["allergy"] ?? "")", token: f.secretaryB).status == 404)
            #expect(try await api.call(.post, "/api/v1/medical-records", entries[1], token: f.doctorAToken).status == 403)
            let card = try await api.call(.get, "/api/v1/patients/\(f.patient)", token: doctor)
            #expect(card.json["care_team"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [f.familyDoctorB])
        }
    }

    @Test func prescribingWarnsAboutRecordedAllergies() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let api = f.api
            let doctor = f.familyDoctorBToken
            for allergy: JSON in [
                ["kind": "allergy", "patient": .string(f.patient), "title": "Pénicillines", "code": ["system": "http://www.whocc.no/atc", "code": "J01C"]],
                ["kind": "allergy", "patient": .string(f.patient), "title": "Aspirine"],
                ["kind": "allergy", "patient": .string(f.patient), "title": "Iode", "status": "resolved"],
            ] {
                #expect(try await api.call(.post, "/api/v1/medical-records", allergy, token: doctor).status == 201)
            }
            func prescribe(_ title: String, atc: String? = nil, acknowledge: Bool = false) async throws -> FHIRTestResponse {
                var body: JSONObject = ["kind": "medication", "patient": .string(f.patient), "title": .string(title), "dosage": "1 cp x 3/j"]
                if let atc { body["code"] = ["system": "http://www.whocc.no/atc", "code": .string(atc)] }
                if acknowledge { body["acknowledge_allergies"] = true }
                return try await api.call(.post, "/api/v1/medical-records", .object(body), token: doctor)
            }
            let byClass = try await prescribe("Amoxicilline 1 g", atc: "J01CA04")
            #expect(byClass.status == 409)
            #expect(byClass.json["code"]?.stringValue == "allergy-warning")
            #expect(byClass.json["details"]?.arrayValue?.map(\.stringValue) == ["Pénicillines (J01C)"])
            let byName = try await prescribe("ASPIRINE du Rhône 500 mg")
            #expect(byName.json["details"]?.arrayValue?.map(\.stringValue) == ["Aspirine"])
            // A resolved allergy does not warn; an unrelated drug passes.
            #expect(try await prescribe("Produit iodé").status == 201)
            #expect(try await prescribe("Paracétamol 1 g", atc: "N02BE01").status == 201)
            // The prescriber may go ahead once warned.
            #expect(try await prescribe("Amoxicilline 1 g", atc: "J01CA04", acknowledge: true).status == 201)
            let prescriptions = try await api.call(.get, "/api/v1/medical-records?patient=\(f.patient)&kind=medication", token: doctor)
            #expect(prescriptions.json["items"]?.arrayValue?.count == 3)
        }
    }
}

@Suite struct PatientDemographicsTests {
    @Test func theSecretaryOfALinkedHospitalCorrectsDemographicsOthersCannot() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let api = f.api
            let changed = try await api.call(.patch, "/api/v1/patients/\(f.patient)", ["birth_date": "1980-02-29", "family": "Durand-Leroy"], token: f.secretaryB)
            #expect(changed.status == 200, "patch: \(changed.text)")
            #expect(changed.json["name"]?.stringValue == "camille Durand-Leroy")
            #expect(changed.json["birth_date"]?.stringValue == "1980-02-29")
            let invalid = try await api.call(.patch, "/api/v1/patients/\(f.patient)", ["birth_date": "1980-02-30"], token: f.secretaryB)
            #expect(invalid.status == 400)
            // Not linked to hospital A yet: A's secretary does not see the patient; the patient reads only.
            #expect(try await api.call(.patch, "/api/v1/patients/\(f.patient)", ["family": "X"], token: f.secretaryA).status == 404)
            #expect(try await api.call(.patch, "/api/v1/patients/\(f.patient)", ["family": "X"], token: f.patientToken).status == 403)
            let list = try await api.call(.get, "/api/v1/patients?q=durand", token: f.secretaryB)
            #expect(list.json["items"]?.arrayValue?.count == 2)
            #expect(try await api.call(.get, "/api/v1/patients?q=durand", token: f.secretaryA).json["items"]?.arrayValue?.isEmpty == true)
        }
    }
}
