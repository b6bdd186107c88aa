import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage

extension PathwaysService {
    /// The QuestionnaireResponse of a case's stage checklist: one per case and stage.
    static func checklistID(case id: String, stage: String) -> String { "\(id)-\(stage)" }

    /// Ticked items of every stage's checklist of the case.
    func ticked(_ found: PathwayCase, tenant: TenantID) async throws -> [String: Set<String>] {
        let definition = try await definition(found.pathway, tenant: tenant)
        let ids = definition.stages.map { Self.checklistID(case: found.id, stage: $0.code) }
        let responses = try await fhir.searchAll("QuestionnaireResponse", [("_id", ids.joined(separator: ","))], tenant: tenant)
        var ticked: [String: Set<String>] = [:]
        for response in responses {
            let json = try response.json()
            guard let stage = definition.stages.first(where: { Self.checklistID(case: found.id, stage: $0.code) == response.id })?.code else { continue }
            ticked[stage] = Self.tickedItems(json)
        }
        return ticked
    }

    static func tickedItems(_ response: JSON) -> Set<String> {
        Set(
            (response["item"]?.arrayValue ?? []).compactMap { item in
                item["answer"]?.arrayValue?.first?["valueBoolean"]?.boolValue == true ? item["linkId"]?.stringValue : nil
            })
    }

    /// Ticks and unticks items of the checklist of the stage the case is in. Every tick is a
    /// new version of the stage's QuestionnaireResponse, naming who ticked.
    public func tick(_ id: String, stage: String, items: [String: Bool], by principal: Principal) async throws -> [String: Set<String>] {
        let (found, _) = try await loadCase(id, by: principal)
        let definition = try await definition(found.pathway, tenant: principal.tenant)
        guard let current = definition.stage(stage) else { throw ServiceError.notFound("Stage \(stage)") }
        guard current.code == found.stage else {
            throw ServiceError(409, "not-current-stage", "Only the checklist of the stage the case is in can be ticked (\(found.stage)).")
        }
        let unknown = items.keys.filter { code in !current.checklist.contains { $0.code == code } }
        guard unknown.isEmpty else { throw ServiceError.invalid("Unknown checklist items: \(unknown.sorted().joined(separator: ", ")).") }
        let responseID = Self.checklistID(case: id, stage: stage)
        let existing = try? await fhir.read("QuestionnaireResponse", responseID, as: .system(principal.tenant))
        var ticked = try existing.map { Self.tickedItems(try $0.json()) } ?? []
        for (code, value) in items {
            if value { ticked.insert(code) } else { ticked.remove(code) }
        }
        let response = Self.checklistResponse(
            id: responseID, caseID: id, patient: found.patient, questionnaire: Self.questionnaireCanonical(definition, stage),
            items: current.checklist, ticked: ticked, by: principal, when: Self.instant(now()))
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update, entities: ["QuestionnaireResponse/\(responseID)"],
            patients: [found.patient], detail: "pathway checklist \(stage)")
        do {
            _ = try await fhir.transaction(
                HygieResources.transaction([HygieResources.put(response, ifMatch: existing?.version)]), as: .system(principal.tenant), audit: [record]
            ) { _ in }
        } catch let error where Self.isConflict(error) {
            throw ServiceError(409, "changed-meanwhile", "Someone ticked this checklist at the same time: reload it and try again.")
        }
        var all = try await self.ticked(found, tenant: principal.tenant)
        all[stage] = ticked
        return all
    }

    static func questionnaireCanonical(_ definition: PathwayDefinition, _ stage: String) -> String {
        "\(questionnaireBase)/\(definition.code)-\(stage)|\(definition.version)"
    }

    static func checklistResponse(
        id: String, caseID: String, patient: String, questionnaire: String, items: [PathwayDefinition.ChecklistItem], ticked: Set<String>,
        by principal: Principal, when: String
    ) -> JSON {
        let complete = items.allSatisfy { !$0.mandatory || ticked.contains($0.code) }
        var response: JSONObject = [
            "resourceType": "QuestionnaireResponse", "id": .string(id),
            "identifier": ["system": .string(caseSystem), "value": .string(caseID)],
            "questionnaire": .string(questionnaire), "status": complete ? "completed" : "in-progress",
            "subject": ["reference": .string("Patient/\(patient)")], "authored": .string(when),
            "item": .array(
                items.map { item in
                    ["linkId": .string(item.code), "text": .string(item.text.fr), "answer": [["valueBoolean": .bool(ticked.contains(item.code))]]]
                }),
        ]
        if let practitioner = principal.practitioner { response["author"] = ["reference": .string("Practitioner/\(practitioner)")] }
        return .object(response)
    }

    /// Notices of a backward move to the staff of the hospital holding the roles of the stages
    /// it undoes (from the target stage up to the one left), but the mover.
    func backwardNotices(
        _ found: PathwayCase, definition: PathwayDefinition, from: PathwayDefinition.Stage, to: PathwayDefinition.Stage, comment: String,
        by principal: Principal, sent: String
    ) async throws -> [JSON] {
        guard let low = definition.index(of: to.code), let high = definition.index(of: from.code) else { return [] }
        let roles = Set(definition.stages[low...high].flatMap(\.roles))
        var recipients = try await staff(of: found.hospital, roles: roles, tenant: principal.tenant)
        if let practitioner = principal.practitioner { recipients.remove(practitioner) }
        guard !recipients.isEmpty else { return [] }
        let label = try await patientLabel(found.patient, tenant: principal.tenant)
        let text = "Dossier \(label) renvoyé de « \(from.title.fr) » à « \(to.title.fr) » par \(principal.role.title.fr) : \(comment)"
        return [
            HygieResources.put(
                HygieResources.notification(
                    id: ids.makeID(), patient: nil, recipients: recipients.sorted().map { "Practitioner/\($0)" }, sender: principal.reference, sent: sent,
                    code: "pathway-backward", text: text, about: "Task/\(found.id)"))
        ]
    }

    /// Practitioners of `hospital` holding one of `roles`, active.
    func staff(of hospital: String, roles: Set<Role>, tenant: TenantID) async throws -> Set<String> {
        guard !roles.isEmpty else { return [] }
        let codes = roles.map { "\(Role.codeSystem)|\($0.code)" }.sorted().joined(separator: ",")
        let found = try await fhir.searchAll(
            "PractitionerRole", [("role", codes), ("organization", "Organization/\(hospital)"), ("active", "true")], tenant: tenant)
        return Set(try found.compactMap { Self.id(of: try $0.json()["practitioner"]?["reference"]?.stringValue, type: "Practitioner") })
    }

    /// The pseudonymised label a card and a notice show: initials and the hospital's number
    /// for the patient (first identifier), never the name.
    func patientLabel(_ patient: String, tenant: TenantID) async throws -> String {
        guard let stored = try? await fhir.read("Patient", patient, as: .system(tenant)) else { return patient }
        return Self.pseudonym(try stored.json(), id: patient)
    }

    static func pseudonym(_ patient: JSON, id: String) -> String {
        let name = patient["name"]?.arrayValue?.first
        let given = name?["given"]?.arrayValue?.first?.stringValue?.first.map(String.init) ?? ""
        let family = name?["family"]?.stringValue?.first.map(String.init) ?? ""
        let initials = (given + family).uppercased()
        let number = patient["identifier"]?.arrayValue?.first?["value"]?.stringValue ?? String(id.suffix(6))
        return initials.isEmpty ? number : "\(initials) · \(number)"
    }
}
