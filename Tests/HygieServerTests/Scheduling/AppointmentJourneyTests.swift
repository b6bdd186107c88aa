import FHIR
import Foundation
import HTTPTypes
import Testing

/// The patient and doctor journey of issue 4, end to end over `/api/v1` and `/fhir`, run on
/// each database the test script selects.
@Suite struct AppointmentJourneyTests {
    @Test func requestValidationLinksThePatientToEachPhysician() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let api = f.api
            let slot = try #require(try await f.freeSlots(f.doctorA, token: f.patientToken).first)
            #expect(slot["practitioner_name"]?.stringValue == "dr.a Médecin")

            // The patient asks dr.a (hospital A) for an appointment on a free slot.
            let requested = try await f.request(f.doctorA, slot: slot["id"]?.stringValue, reason: "Palpitations", token: f.patientToken)
            #expect(requested.status == 201, "request: \(requested.text)")
            #expect(requested.json["status"]?.stringValue == "proposed")
            let appointment = requested.json["id"]?.stringValue ?? ""

            // Until validation, dr.a sees nothing of the patient.
            let hidden = try await api.call(.get, "/fhir/Patient/\(f.patient)", token: f.doctorAToken)
            #expect(hidden.status == 404)
            let doctorList = try await api.call(.get, "/api/v1/appointments", token: f.doctorAToken)
            #expect(doctorList.json["items"]?.arrayValue?.isEmpty == true)
            let doctorRead = try await api.call(.get, "/api/v1/appointments/\(appointment)", token: f.doctorAToken)
            #expect(doctorRead.status == 404)

            // A secretary of another hospital neither sees nor validates it.
            let foreignQueue = try await api.call(.get, "/api/v1/appointments?status=proposed", token: f.secretaryB)
            #expect(foreignQueue.json["items"]?.arrayValue?.contains { $0["id"]?.stringValue == appointment } == false)
            let foreign = try await api.call(.post, "/api/v1/appointments/\(appointment)/validate", token: f.secretaryB)
            #expect(foreign.status == 404)

            // The secretary of dr.a's hospital finds it in her queue and validates it.
            let queue = try await api.call(.get, "/api/v1/appointments?status=proposed", token: f.secretaryA)
            let queued = queue.json["items"]?.arrayValue?.first { $0["id"]?.stringValue == appointment }
            #expect(queued?["patient_name"]?.stringValue == "camille Durand")
            let queuedFHIR = try await api.call(.get, "/fhir/Appointment?status=proposed", token: f.secretaryA)
            #expect(queuedFHIR.json["entry"]?.arrayValue?.count == 1)
            let validated = try await api.call(.post, "/api/v1/appointments/\(appointment)/validate", token: f.secretaryA)
            #expect(validated.status == 200, "validate: \(validated.text)")
            #expect(validated.json["status"]?.stringValue == "booked")
            let again = try await api.call(.post, "/api/v1/appointments/\(appointment)/validate", token: f.secretaryA)
            #expect(again.status == 409)

            // dr.a now reads and writes the record.
            let visible = try await api.call(.get, "/fhir/Patient/\(f.patient)", token: f.doctorAToken)
            #expect(visible.status == 200)
            let condition: JSON = [
                "resourceType": "Condition", "subject": ["reference": .string("Patient/\(f.patient)")],
                "code": ["text": "Fibrillation atriale"],
            ]
            let written = try await api.call(.post, "/fhir/Condition", condition, token: f.doctorAToken)
            #expect(written.status == 201, "physician write: \(written.text)")
            let booked = try await api.call(.get, "/api/v1/appointments", token: f.doctorAToken)
            #expect(booked.json["items"]?.arrayValue?.first?["status"]?.stringValue == "booked")

            // The patient reads their record and cannot write it.
            let own = try await api.call(.get, "/fhir/Condition?patient=\(f.patient)", token: f.patientToken)
            #expect(own.json["entry"]?.arrayValue?.count == 1)
            let patientWrite = try await api.call(.post, "/fhir/Condition", condition, token: f.patientToken)
            #expect(patientWrite.status == 403)

            // A physician of the second hospital is linked after a second validated request,
            // here a free-text one: the secretary picks the slot when she validates.
            #expect(try await api.call(.get, "/fhir/Patient/\(f.patient)", token: f.doctorBToken).status == 404)
            let freeText = try await f.request(f.doctorB, slot: nil, reason: "Second avis sur une échographie", token: f.patientToken)
            #expect(freeText.status == 201, "free-text request: \(freeText.text)")
            let second = freeText.json["id"]?.stringValue ?? ""
            let noSlot = try await api.call(.post, "/api/v1/appointments/\(second)/validate", token: f.secretaryB)
            #expect(noSlot.status == 422)
            let slotB = try #require(try await f.freeSlots(f.doctorB, token: f.secretaryB).last)
            let validatedB = try await api.call(.post, "/api/v1/appointments/\(second)/validate", ["slot": slotB["id"] ?? .null], token: f.secretaryB)
            #expect(validatedB.status == 200, "validate with slot: \(validatedB.text)")
            #expect(try await api.call(.get, "/fhir/Patient/\(f.patient)", token: f.doctorBToken).status == 200)
            let team = try await api.call(.get, "/fhir/CareTeam?subject=Patient/\(f.patient)", token: f.patientToken)
            let members = team.json["entry"]?.arrayValue?.flatMap { $0["resource"]?["participant"]?.arrayValue ?? [] }.compactMap { $0["member"]?["reference"]?.stringValue }
            #expect(Set(members ?? []) == ["Practitioner/\(f.familyDoctorB)", "Practitioner/\(f.doctorA)", "Practitioner/\(f.doctorB)"])

            // Each step reached the patient's and the physician's notification lists.
            let patientNotices = try await api.call(.get, "/api/v1/notifications", token: f.patientToken)
            let codes = patientNotices.json["items"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? []
            #expect(codes.filter { $0 == "appointment-requested" }.count == 2)
            #expect(codes.filter { $0 == "appointment-booked" }.count == 2)
            let doctorNotices = try await api.call(.get, "/api/v1/notifications", token: f.doctorAToken)
            #expect(doctorNotices.json["items"]?.arrayValue?.map { $0["code"]?.stringValue ?? "" } == ["appointment-booked", "appointment-requested"])

            // And the audit trail names the secretary's validation.
            let audit = try await api.call(.get, "/fhir/AuditEvent?entity=Appointment/\(appointment)", token: f.hospitals.superAdmin)
            let details = audit.json["entry"]?.arrayValue?.compactMap { $0["resource"]?["outcomeDesc"]?.stringValue } ?? []
            #expect(details.contains("appointment requested"))
            #expect(details.contains("appointment validated; care link created"))
        }
    }

    @Test func aDeactivatedPhysicianLeavesTheDirectory() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let api = f.api
            let staff = try await api.call(.get, "/api/v1/staff?q=dr.a2", token: f.hospitals.adminA)
            let account = try #require(staff.json["items"]?.arrayValue?.first?["id"]?.stringValue)
            let slot = try #require(try await f.freeSlots(f.doctorA2, token: f.patientToken).first?["id"]?.stringValue)
            #expect(try await api.call(.patch, "/api/v1/accounts/\(account)", ["active": false], token: f.hospitals.adminA).status == 200)
            let directory = try await api.call(.get, "/api/v1/physicians?limit=100", token: f.patientToken)
            let listed = directory.json["items"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(listed.contains(f.doctorA) && !listed.contains(f.doctorA2))
            #expect(try await f.freeSlots(f.doctorA2, token: f.patientToken).isEmpty)
            #expect(try await f.request(f.doctorA2, slot: slot, token: f.patientToken).status == 404)
            let practitioner = try await api.call(.get, "/fhir/Practitioner/\(f.doctorA2)", token: f.patientToken)
            #expect(practitioner.json["active"]?.boolValue == false)
            // Reactivated, they are back.
            #expect(try await api.call(.patch, "/api/v1/accounts/\(account)", ["active": true], token: f.hospitals.adminA).status == 200)
            #expect(try await f.request(f.doctorA2, slot: slot, token: f.patientToken).status == 201)
        }
    }

    @Test func theSecretaryDeclinesBooksReschedulesAndCancels() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let api = f.api
            let slots = try await f.freeSlots(f.doctorA, token: f.patientToken)
            let requested = try await f.request(f.doctorA, slot: slots[0]["id"]?.stringValue, token: f.patientToken)
            let id = requested.json["id"]?.stringValue ?? ""
            let withoutReason = try await api.call(.post, "/api/v1/appointments/\(id)/decline", [:], token: f.secretaryA)
            #expect(withoutReason.status == 400)
            let declined = try await api.call(.post, "/api/v1/appointments/\(id)/decline", ["reason": "Le Dr est en formation"], token: f.secretaryA)
            #expect(declined.json["status"]?.stringValue == "cancelled")
            #expect(declined.json["cancellation_reason"]?.stringValue == "Le Dr est en formation")
            #expect(try await api.call(.get, "/fhir/Patient/\(f.patient)", token: f.doctorAToken).status == 404)
            // The declined slot is free again.
            let after = try await f.freeSlots(f.doctorA, token: f.patientToken)
            #expect(after.first?["id"] == slots[0]["id"])

            // Direct booking needs a patient linked to her hospital.
            let unlinked = try await api.call(.post, "/api/v1/appointments", ["patient": .string(f.patient), "slot": slots[1]["id"] ?? .null], token: f.secretaryA)
            #expect(unlinked.status == 404)
            let direct = try await api.call(.post, "/api/v1/appointments", ["patient": .string(f.patient), "slot": slots[1]["id"] ?? .null], token: f.secretaryB)
            #expect(direct.status == 403, "B's secretary cannot book on A's physician: \(direct.text)")
            let slotB = try await f.freeSlots(f.doctorB, token: f.secretaryB)
            let bookedB = try await api.call(.post, "/api/v1/appointments", ["patient": .string(f.patient), "slot": slotB[0]["id"] ?? .null], token: f.secretaryB)
            #expect(bookedB.status == 201, "direct booking: \(bookedB.text)")
            #expect(bookedB.json["status"]?.stringValue == "booked")
            let bookedID = bookedB.json["id"]?.stringValue ?? ""

            // Rescheduling moves the hold: the old slot is free, the new one taken.
            let moved = try await api.call(.post, "/api/v1/appointments/\(bookedID)/reschedule", ["slot": slotB[3]["id"] ?? .null], token: f.secretaryB)
            #expect(moved.status == 200, "reschedule: \(moved.text)")
            #expect(moved.json["start"] == slotB[3]["start"])
            let freeB = try await f.freeSlots(f.doctorB, token: f.secretaryB).compactMap { $0["id"]?.stringValue }
            #expect(freeB.contains(slotB[0]["id"]?.stringValue ?? ""))
            #expect(!freeB.contains(slotB[3]["id"]?.stringValue ?? ""))

            // The patient cancels their own appointment; another patient may not.
            let notTheirs = try await api.call(.post, "/api/v1/appointments/\(bookedID)/cancel", token: f.otherPatientToken)
            #expect(notTheirs.status == 404)
            let cancelled = try await api.call(.post, "/api/v1/appointments/\(bookedID)/cancel", ["reason": "Empêchement"], token: f.patientToken)
            #expect(cancelled.json["status"]?.stringValue == "cancelled")
            #expect(try await f.freeSlots(f.doctorB, token: f.secretaryB).contains { $0["id"] == slotB[3]["id"] })
            // A physician cannot act on the queue, nor write appointments over FHIR.
            #expect(try await api.call(.post, "/api/v1/appointments/\(id)/validate", token: f.doctorAToken).status == 403)
            let fhirWrite = try await api.call(
                .post, "/fhir/Appointment",
                ["resourceType": "Appointment", "status": "booked", "participant": [["actor": ["reference": .string("Patient/\(f.patient)")], "status": "accepted"]]],
                token: f.secretaryB)
            #expect(fhirWrite.status == 403)
        }
    }
}
