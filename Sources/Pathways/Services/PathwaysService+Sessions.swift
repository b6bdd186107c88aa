import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// A treatment session as recorded.
public struct TreatmentSession: Sendable, Equatable {
    public var id: String
    public var number: Int
    public var performed: String
    public var machine: String?
    public var performer: String?
    public var checklist: Set<String>
}

extension PathwaysService {
    static let sessionCode = "radiotherapy-session"
    static let sessionCodeSystem = "https://hygie.health/fhir/CodeSystem/pathway-session"

    /// The delivered sessions of a case, oldest first.
    func sessions(of caseID: String, tenant: TenantID) async throws -> [StoredResource] {
        try await fhir.searchAll("Procedure", [("identifier", "\(Self.caseSystem)|\(caseID)"), ("status", "completed")], tenant: tenant)
            .sorted { $0.lastUpdated < $1.lastUpdated }
    }

    /// The sessions of a case as the case page shows them.
    public func treatmentSessions(of caseID: String, by principal: Principal) async throws -> [TreatmentSession] {
        let (found, _) = try await loadCase(caseID, by: principal)
        return try await treatmentSessions(of: found.id, tenant: principal.tenant)
    }

    /// The sessions of a case already checked visible.
    func treatmentSessions(of caseID: String, tenant: TenantID) async throws -> [TreatmentSession] {
        let procedures = try await sessions(of: caseID, tenant: tenant)
        let checklists = try await fhir.searchAll(
            "QuestionnaireResponse", [("_id", procedures.map { "\($0.id)-checklist" }.joined(separator: ","))], tenant: tenant)
        var ticked: [String: Set<String>] = [:]
        for response in checklists { ticked[String(response.id.dropLast("-checklist".count))] = Self.tickedItems(try response.json()) }
        return try procedures.enumerated().map { index, stored in
            let json = try stored.json()
            return TreatmentSession(
                id: stored.id, number: index + 1, performed: json["performedDateTime"]?.stringValue ?? "",
                machine: Self.id(of: json["usedReference"]?.arrayValue?.first?["reference"]?.stringValue, type: "Device"),
                performer: Self.id(of: json["performer"]?.arrayValue?.first?["actor"]?["reference"]?.stringValue, type: "Practitioner"),
                checklist: ticked[stored.id] ?? [])
        }
    }

    /// Why a session may not start now (empty when it may): what the case page explains.
    public func sessionRefusals(_ caseID: String, checklist: Set<String>, by principal: Principal) async throws -> [Refusal] {
        let (found, _) = try await loadCase(caseID, by: principal)
        let definition = try await definition(found.pathway, tenant: principal.tenant)
        return definition.sessionRefusals(for: try await facts(of: found, tenant: principal.tenant), role: principal.role, ticked: checklist)
    }

    /// Records a delivered session, after the blocking rule: the case is in its treatment
    /// stage, its prescription signed, its plan validated, its machine's QA "OK" today, the
    /// pre-session checklist complete and sessions remain. The Procedure and its checklist
    /// (a QuestionnaireResponse part of it) are written together.
    public func recordSession(_ caseID: String, checklist: Set<String>, note: String?, by principal: Principal) async throws -> TreatmentSession {
        let (found, _) = try await loadCase(caseID, by: principal)
        let definition = try await definition(found.pathway, tenant: principal.tenant)
        let facts = try await facts(of: found, tenant: principal.tenant)
        let known = Set(definition.sessions?.checklist.map(\.code) ?? [])
        let unknown = checklist.subtracting(known)
        guard unknown.isEmpty else { throw ServiceError.invalid("Unknown checklist items: \(unknown.sorted().joined(separator: ", ")).") }
        let refusals = definition.sessionRefusals(for: facts, role: principal.role, ticked: checklist)
        guard refusals.isEmpty else {
            let error = Self.refused(refusals)
            throw ServiceError(error.status, "session-refused", error.message, details: error.details)
        }
        let note = try Self.text(note, field: "note")
        let id = ids.makeID()
        let when = Self.instant(now())
        var procedure: JSONObject = [
            "resourceType": "Procedure", "id": .string(id), "status": "completed",
            "identifier": [["system": .string(Self.caseSystem), "value": .string(caseID)]],
            "code": ["coding": [["system": .string(Self.sessionCodeSystem), "code": .string(Self.sessionCode), "display": "Séance de radiothérapie"]]],
            "subject": ["reference": .string("Patient/\(found.patient)")], "performedDateTime": .string(when),
            "usedReference": [["reference": .string("Device/\(found.machine ?? "")")]],
        ]
        if let practitioner = principal.practitioner {
            procedure["performer"] = [
                [
                    "function": ["coding": [["system": .string(Role.codeSystem), "code": .string(principal.role.code)]]],
                    "actor": ["reference": .string("Practitioner/\(practitioner)")],
                ]
            ]
        }
        if let note { procedure["note"] = [["text": .string(note)]] }
        var response = Self.checklistResponse(
            id: "\(id)-checklist", caseID: caseID, patient: found.patient, questionnaire: Self.questionnaireCanonical(definition, "session"),
            items: definition.sessions?.checklist ?? [], ticked: checklist, by: principal, when: when
        ).objectValue ?? [:]
        response["partOf"] = [["reference": .string("Procedure/\(id)")]]
        let number = facts.sessionsDone + 1
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("create"), action: .create, entities: ["Procedure/\(id)"], patients: [found.patient],
            detail: "treatment session \(number)")
        let tenant = principal.tenant.rawValue
        do {
            _ = try await fhir.transaction(
                HygieResources.transaction([HygieResources.put(.object(procedure)), HygieResources.put(.object(response))]), as: .system(principal.tenant),
                audit: [record]
            ) { database in
                try await database.raw(
                    """
                    INSERT INTO pathway_session_numbers (tenant_id, case_id, number, procedure_id)
                    VALUES (\(bind: tenant), \(bind: caseID), \(bind: number), \(bind: id))
                    """
                ).run()
            }
        } catch where StorageError.classify(error) == .uniqueViolation {
            throw ServiceError.conflict("Session \(number) of this case was recorded a moment ago by someone else: reload the case.")
        }
        logger.info("treatment session recorded", metadata: ["case": "\(caseID)", "number": "\(number)"])
        return TreatmentSession(
            id: id, number: number, performed: when, machine: found.machine, performer: principal.practitioner, checklist: checklist)
    }
}
