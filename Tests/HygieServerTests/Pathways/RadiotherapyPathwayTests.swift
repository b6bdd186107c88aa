import FHIR
import Foundation
import HTTPTypes
import Testing

/// The radiotherapy pathway of issue 6 over `/api/v1/pathways`, on each database the test
/// script selects: the table walked end to end by the roles it names, the checklists and
/// rules that block it, signed validations, sessions gated on machine QA.
@Suite struct RadiotherapyPathwayTests {
    @Test func aCaseWalksTheWholeTableByTheRolesItNamesWithSignedValidations() async throws {
        try await withTestApp { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api

            // Only a technologist opens a case.
            let byPhysician = try await api.call(.post, "/api/v1/pathways/cases", ["patient": .string(f.patient)], token: f.oncologist)
            #expect(byPhysician.status == 403)
            let id = try await f.openCase(sessions: 2)
            let opened = try await api.call(.get, "/api/v1/pathways/cases/\(id)", token: f.oncologist)
            #expect(opened.json["stage"]?.stringValue == "to-prepare")
            #expect(opened.json["patient"]?["name"]?.stringValue == "Jeanne Martin")

            // À préparer → Prescription validée needs identity and imaging ticked.
            let early = try await f.move(id, to: "prescription-validated", token: f.oncologist)
            #expect(early.status == 409)
            #expect(early.json["details"]?.arrayValue?.compactMap(\.stringValue) == [
                "checklist:to-prepare/identity-verified", "checklist:to-prepare/imaging-imported",
            ])
            try await f.tick(id, "to-prepare", ["identity-verified", "imaging-imported"], token: f.technologist)
            // The technologist may not prescribe; the oncologist may.
            #expect(try await f.move(id, to: "prescription-validated", token: f.technologist).status == 403)
            let prescribed = try await f.move(id, to: "prescription-validated", token: f.oncologist)
            #expect(prescribed.status == 200, "prescribe: \(prescribed.text)")

            try await f.tick(id, "prescription-validated", ["prescription-signed"], token: f.oncologist)
            #expect(try await f.move(id, to: "contours-validated", token: f.oncologist).status == 200)
            try await f.tick(id, "contours-validated", ["contours-locked"], token: f.oncologist)
            #expect(try await f.move(id, to: "plan-in-review", token: f.oncologist).status == 403)
            #expect(try await f.move(id, to: "plan-in-review", token: f.dosimetrist).status == 200)
            try await f.tick(id, "plan-in-review", ["dosimetric-qa"], token: f.dosimetrist)
            #expect(try await f.move(id, to: "plan-validated", token: f.dosimetrist).status == 403)
            #expect(try await f.move(id, to: "plan-validated", token: f.physicist).status == 200)
            try await f.tick(id, "plan-validated", ["oncologist-signature"], token: f.oncologist)
            #expect(try await f.move(id, to: "ready-for-treatment", token: f.oncologist).status == 200)

            // Prêt pour traitement → En traitement only once today's machine QA is OK.
            let noQA = try await f.move(id, to: "in-treatment", token: f.technologist)
            #expect(noQA.status == 409)
            #expect(noQA.json["details"]?.arrayValue?.compactMap(\.stringValue) == ["machine-qa-ok"])
            #expect(try await f.recordDailyQA(validate: false).status == 201)
            #expect(try await f.move(id, to: "in-treatment", token: f.technologist).json["details"]?.arrayValue?.compactMap(\.stringValue) == ["machine-qa-ok"])
            let validated = try await f.recordDailyQA()
            #expect(validated.status == 201, "QA: \(validated.text)")
            #expect(try await f.move(id, to: "in-treatment", token: f.technologist).status == 200)

            // Sessions, each after the pre-session checklist.
            let checklist: JSON = ["checklist": ["patient-identity", "positioning", "plan-parameters"]]
            let partial = try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", ["checklist": ["patient-identity"]], token: f.technologist)
            #expect(partial.status == 409)
            for number in 1...2 {
                let session = try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", checklist, token: f.technologist)
                #expect(session.status == 201, "session \(number): \(session.text)")
                #expect(session.json["number"]?.numberValue?.text == String(number))
            }
            #expect(try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", checklist, token: f.technologist).status == 409)

            // Clôturé: every session done and the final report ticked.
            let noReport = try await f.move(id, to: "closed", token: f.oncologist)
            #expect(noReport.json["details"]?.arrayValue?.compactMap(\.stringValue) == ["checklist:in-treatment/final-report"])
            try await f.tick(id, "in-treatment", ["final-report"], token: f.technologist)
            let closed = try await f.move(id, to: "closed", token: f.physicist)
            #expect(closed.status == 200, "close: \(closed.text)")
            #expect(closed.json["closed"]?.boolValue == true)
            #expect(closed.json["moves"]?.arrayValue?.isEmpty == true)

            // The history: one signed step per transition, naming who, with which role.
            let timeline = closed.json["timeline"]?.arrayValue ?? []
            #expect(timeline.compactMap { $0["to"]?.stringValue } == [
                "to-prepare", "prescription-validated", "contours-validated", "plan-in-review", "plan-validated", "ready-for-treatment", "in-treatment", "closed",
            ])
            #expect(timeline.allSatisfy { $0["signature_valid"]?.boolValue == true })
            #expect(timeline.compactMap { $0["role"]?.stringValue } == [
                "radiotherapy-technologist", "physician", "physician", "dosimetrist", "medical-physicist", "physician", "radiotherapy-technologist",
                "medical-physicist",
            ])
            #expect(closed.json["sessions"]?.arrayValue?.count == 2)

            // A closed case moves no further.
            #expect(try await f.move(id, to: "in-treatment", comment: "reprise", token: f.technologist).json["details"]?.arrayValue?.first?.stringValue == "no-transition")
        }
    }

    @Test func backwardMovesNeedACommentAndNotifyTheRolesWhoseWorkTheyUndo() async throws {
        try await withTestApp { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            let id = try await f.openCase()
            try await f.walk(id, to: "plan-validated")

            // The oncologist refuses the plan: without a comment, refused.
            let silent = try await f.move(id, to: "plan-in-review", token: f.oncologist)
            #expect(silent.status == 409)
            #expect(silent.json["details"]?.arrayValue?.compactMap(\.stringValue) == ["comment-required"])
            let back = try await f.move(id, to: "plan-in-review", comment: "Contrainte moelle dépassée", token: f.oncologist)
            #expect(back.status == 200, "back: \(back.text)")
            #expect(back.json["timeline"]?.arrayValue?.last?["comment"]?.stringValue == "Contrainte moelle dépassée")
            #expect(back.json["timeline"]?.arrayValue?.last?["signature_valid"]?.boolValue == true)

            // The dosimetrist and the physicist are told, the mover is not.
            let notices = try await api.call(.get, "/api/v1/notifications", token: f.dosimetrist)
            let notice = notices.json["items"]?.arrayValue?.first { $0["code"]?.stringValue == "pathway-backward" }
            #expect(notice?["text"]?.stringValue?.contains("Contrainte moelle dépassée") == true)
            #expect(notice?["text"]?.stringValue?.contains("Martin") == false)
            let physicistNotices = try await api.call(.get, "/api/v1/notifications", token: f.physicist)
            #expect(physicistNotices.json["items"]?.arrayValue?.contains { $0["code"]?.stringValue == "pathway-backward" } == true)
            let own = try await api.call(.get, "/api/v1/notifications", token: f.oncologist)
            #expect(own.json["items"]?.arrayValue?.contains { $0["code"]?.stringValue == "pathway-backward" } != true)

            // A comment rewritten afterwards (here by a backend client with system scopes writing
            // the Provenance directly) no longer matches its signature: the case page says so.
            let provenances = try await http.get("/fhir/Provenance?target=Task/\(id)&_count=50")
            let signed = try #require(
                provenances.json["entry"]?.arrayValue?.compactMap { $0["resource"] }.first { $0["reason"]?.arrayValue?.first?["text"]?.stringValue == "Contrainte moelle dépassée" })
            var forged = try #require(signed.objectValue)
            forged["reason"] = [["text": "Plan conforme"]]
            forged.removeValue(forKey: "meta")
            let rewritten = try await http.send(.put, "/fhir/Provenance/\(signed["id"]?.stringValue ?? "")", json: .object(forged))
            #expect(rewritten.status == 200, "rewrite: \(rewritten.text)")
            let audited = try await api.call(.get, "/api/v1/pathways/cases/\(id)", token: f.oncologist)
            let step = audited.json["timeline"]?.arrayValue?.first { $0["comment"]?.stringValue == "Plan conforme" }
            #expect(step?["signature_valid"]?.boolValue == false)
            #expect(audited.json["timeline"]?.arrayValue?.filter { $0["signature_valid"]?.boolValue == true }.count == 5)

            // "À reprendre contourage": the dosimetrist sends it back before contouring.
            let redo = try await f.move(id, to: "prescription-validated", comment: "PTV incomplet", token: f.dosimetrist)
            #expect(redo.status == 200)
            #expect(redo.json["stage"]?.stringValue == "prescription-validated")
        }
    }

    @Test func twoTechnologistsRecordingTheLastSessionAtOnceCannotExceedThePlan() async throws {
        try await withTestApp { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            let checklist: JSON = ["checklist": ["patient-identity", "positioning", "plan-parameters"]]
            let id = try await f.openCase(sessions: 1)
            try await f.walk(id, to: "ready-for-treatment")
            #expect(try await f.recordDailyQA().status == 201)
            #expect(try await f.move(id, to: "in-treatment", token: f.technologist).status == 200)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", checklist, token: f.technologist).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.sorted() == [201, 409, 409, 409], "\(statuses)")
            let detail = try await api.call(.get, "/api/v1/pathways/cases/\(id)", token: f.technologist)
            #expect(detail.json["sessions"]?.arrayValue?.count == 1)
        }
    }

    @Test func sessionsAreRefusedWhenTheMachineQAIsMissingOrFailedOrThePlanNotValidated() async throws {
        try await withTestApp { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            let checklist: JSON = ["checklist": ["patient-identity", "positioning", "plan-parameters"]]
            let id = try await f.openCase(sessions: 5)

            // Plan not validated (the case is still being prepared), prescription missing, no QA.
            let early = try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", checklist, token: f.technologist)
            #expect(early.status == 409)
            #expect(early.json["details"]?.arrayValue?.compactMap(\.stringValue) == [
                "stage:in-treatment", "checked:prescription-validated/prescription-signed", "reached:plan-validated", "machine-qa-ok",
            ])

            try await f.walk(id, to: "ready-for-treatment")
            #expect(try await f.recordDailyQA().status == 201)
            #expect(try await f.move(id, to: "in-treatment", token: f.technologist).status == 200)
            #expect(try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", checklist, token: f.technologist).status == 201)

            // The physicist re-measures: output past the action level. The machine fails today,
            // the team is told, and the next session is refused.
            let failing = try await f.recordDailyQA(failing: true)
            #expect(failing.json["worst"]?.stringValue == "action")
            let machines = try await api.call(.get, "/api/v1/pathways/machines", token: f.technologist)
            #expect(machines.json["items"]?.arrayValue?.first?["qa_today"]?.stringValue == "failed")
            let refused = try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", checklist, token: f.technologist)
            #expect(refused.status == 409)
            #expect(refused.json["details"]?.arrayValue?.compactMap(\.stringValue) == ["machine-qa-ok"])
            let notices = try await api.call(.get, "/api/v1/notifications", token: f.technologist)
            #expect(notices.json["items"]?.arrayValue?.contains { $0["code"]?.stringValue == "machine-qa-failed" } == true)

            // A complete, validated session later in the day puts the machine back in service.
            #expect(try await f.recordDailyQA().status == 201)
            #expect(try await api.call(.post, "/api/v1/pathways/cases/\(id)/sessions", checklist, token: f.technologist).status == 201)
            let history = try await api.call(.get, "/api/v1/pathways/machines/\(f.machine)/qa", token: f.physicist)
            #expect(history.json["today"]?.stringValue == "ok")
            #expect(history.json["sessions"]?.arrayValue?.count == 3)

            // Only a physicist records QA; an incomplete list is not "OK".
            let byTechnologist = try await api.call(
                .post, "/api/v1/pathways/machines/\(f.machine)/qa", ["results": [["test": "lasers", "value": 0]], "validate": true], token: f.technologist)
            #expect(byTechnologist.status == 403)
            let incomplete = try await api.call(
                .post, "/api/v1/pathways/machines/\(f.machine)/qa", ["results": [["test": "lasers", "value": 0]], "validate": true], token: f.physicist)
            #expect(incomplete.status == 201)
            #expect(try await api.call(.get, "/api/v1/pathways/machines/\(f.machine)/qa", token: f.physicist).json["today"]?.stringValue == "incomplete")
            let badValue = try await api.call(
                .post, "/api/v1/pathways/machines/\(f.machine)/qa", ["results": [["test": "lasers", "value": true]]], token: f.physicist)
            #expect(badValue.status == 400)
        }
    }

    @Test func casesAreSeenOnlyByTheirHospitalsStaffWhoMaySeeThePatient() async throws {
        try await withTestApp { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            let id = try await f.openCase()
            for token in [f.technologist, f.physicist, f.dosimetrist, f.coordinator, f.oncologist] {
                let board = try await api.call(.get, "/api/v1/pathways/cases", token: token)
                #expect(board.json["items"]?.arrayValue?.map { $0["id"]?.stringValue } == [id])
                let card = board.json["items"]?.arrayValue?.first
                #expect(card?["patient_label"]?.stringValue?.hasPrefix("JM") == true)
                #expect(card?["machine_name"]?.stringValue == "Halcyon 1")
            }
            // Another hospital's technologist, a physician not linked to the patient, the patient.
            for token in [f.foreignTechnologist, f.otherPhysician] {
                #expect(try await api.call(.get, "/api/v1/pathways/cases/\(id)", token: token).status == 404)
                #expect(try await api.call(.get, "/api/v1/pathways/cases", token: token).json["items"]?.arrayValue?.isEmpty == true)
                #expect(try await f.move(id, to: "prescription-validated", token: token).status == 404)
            }
            let patientToken = try await api.firstSignIn("jeanne")
            #expect(try await api.call(.get, "/api/v1/pathways/cases/\(id)", token: patientToken).status == 404)
            #expect(try await api.call(.get, "/api/v1/pathways/cases", token: patientToken).status == 403)
            // Filters of the board.
            #expect(try await api.call(.get, "/api/v1/pathways/cases?priority=routine", token: f.coordinator).json["items"]?.arrayValue?.isEmpty == true)
            #expect(try await api.call(.get, "/api/v1/pathways/cases?pathology=sein", token: f.coordinator).json["items"]?.arrayValue?.count == 1)
            #expect(try await api.call(.get, "/api/v1/pathways/cases?machine=\(f.machine)&stage=to-prepare", token: f.coordinator).json["items"]?.arrayValue?.count == 1)
        }
    }

    @Test func anAdminsLiveDefinitionChangeAppliesToTheNextTransitionAndIsVersioned() async throws {
        try await withTestApp { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            let admin = f.hospitals.adminA
            let id = try await f.openCase()
            try await f.tick(id, "to-prepare", ["identity-verified", "imaging-imported"], token: f.technologist)

            // Only admins change a pathway; the coordinator reads it.
            let definition = try await api.call(.get, "/api/v1/admin/pathways/radiotherapy", token: f.coordinator)
            #expect(definition.json["version"]?.numberValue?.text == "1")
            #expect(definition.json["stages"]?.arrayValue?.count == 8)
            #expect(try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/roles", ["stage": "prescription-validated", "roles": ["dosimetrist"]], token: f.coordinator).status == 403)

            // Consent becomes mandatory: the next move is refused until it is ticked.
            let checklist = try await api.call(
                .put, "/api/v1/admin/pathways/radiotherapy/checklist",
                [
                    "stage": "to-prepare",
                    "items": [
                        ["code": "identity-verified", "text_fr": "Identité vérifiée", "mandatory": true],
                        ["code": "imaging-imported", "text_fr": "Examens importés", "mandatory": true],
                        ["code": "consent-recorded", "text_fr": "Consentement recueilli", "text_en": "Consent recorded", "mandatory": true],
                    ],
                ], token: admin)
            #expect(checklist.status == 200, "checklist: \(checklist.text)")
            #expect(checklist.json["version"]?.numberValue?.text == "2")
            #expect(try await f.move(id, to: "prescription-validated", token: f.oncologist).json["details"]?.arrayValue?.compactMap(\.stringValue) == [
                "checklist:to-prepare/consent-recorded"
            ])
            try await f.tick(id, "to-prepare", ["consent-recorded"], token: f.technologist)

            // The prescription stage is given to the dosimetrist alone: the oncologist is refused at once.
            let roles = try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/roles", ["stage": "prescription-validated", "roles": ["dosimetrist"]], token: admin)
            #expect(roles.status == 200)
            #expect(try await f.move(id, to: "prescription-validated", token: f.oncologist).status == 403)
            let moved = try await f.move(id, to: "prescription-validated", token: f.dosimetrist)
            #expect(moved.status == 200)
            // The step records the version it was checked against; earlier steps keep theirs.
            let steps = moved.json["timeline"]?.arrayValue ?? []
            #expect(steps.first?["definition"]?.stringValue?.hasSuffix("/radiotherapy/v1") == true)
            #expect(steps.last?["definition"]?.stringValue?.hasSuffix("/radiotherapy/v3") == true)

            // Transitions out of a stage replaced: the removed one is refused.
            let transitions = try await api.call(.put, "/api/v1/admin/pathways/radiotherapy/transitions", ["from": "prescription-validated", "to": []], token: admin)
            #expect(transitions.status == 200)
            try await f.tick(id, "prescription-validated", ["prescription-signed"], token: f.oncologist)
            #expect(try await f.move(id, to: "contours-validated", token: f.oncologist).json["details"]?.arrayValue?.first?.stringValue == "no-transition")

            // An edit that breaks a rule's reference is refused whole.
            let broken = try await api.call(
                .put, "/api/v1/admin/pathways/radiotherapy/checklist", ["stage": "prescription-validated", "items": []], token: admin)
            #expect(broken.status == 422)
            #expect(try await api.call(.get, "/api/v1/admin/pathways/radiotherapy", token: admin).json["version"]?.numberValue?.text == "4")

            // Each version's checklists are Questionnaires; each change is in the audit trail.
            let questionnaire = try await api.call(.get, "/fhir/Questionnaire/radiotherapy-to-prepare-v2", token: f.technologist)
            #expect(questionnaire.status == 200)
            #expect(questionnaire.json["item"]?.arrayValue?.last?["required"]?.boolValue == true)
            let audit = try await api.call(.get, "/fhir/AuditEvent?_count=200", token: f.hospitals.superAdmin)
            #expect(audit.text.contains("pathway definition: roles of prescription-validated"))
        }
    }
}
