import Access
import Core
import FHIR
import FHIRStore
import Foundation

/// A case with everything its page shows.
public struct CaseDetail: Sendable {
    /// One transition, as its signed Provenance tells it.
    public struct Step: Sendable, Equatable {
        public var from: String?
        public var to: String
        public var who: String?
        public var role: String?
        public var when: String
        public var comment: String?
        public var policy: String?
        public var taskVersion: Int?
        /// The signature verifies and matches the Task version it names.
        public var signatureValid: Bool
    }

    public struct Checklist: Sendable, Equatable {
        public var stage: String
        public var items: [PathwayDefinition.ChecklistItem]
        public var ticked: Set<String>
    }

    public var pathwayCase: PathwayCase
    public var definition: PathwayDefinition
    public var patient: JSON
    public var patientLabel: String
    public var timeline: [Step]
    public var checklists: [Checklist]
    public var sessions: [TreatmentSession]
    /// Stages the case may be moved to by the definition (whatever the role).
    public var moves: [PathwayDefinition.Transition]
    public var machineQA: QAStatus?
}

extension PathwaysService {
    public func detail(_ id: String, by principal: Principal) async throws -> CaseDetail {
        let (found, _) = try await loadCase(id, by: principal)
        let tenant = principal.tenant
        let definition = try await definition(found.pathway, tenant: tenant)
        let patient = try await fhir.read("Patient", found.patient, as: .system(tenant)).json()
        let ticked = try await ticked(found, tenant: tenant)
        let checklists = definition.stages.filter { !$0.checklist.isEmpty }.map { stage in
            CaseDetail.Checklist(stage: stage.code, items: stage.checklist, ticked: ticked[stage.code] ?? [])
        }
        try await fhir.record(
            AuditRecord(agent: principal.auditAgent, kind: .rest("read"), action: .read, entities: ["Task/\(id)"], patients: [found.patient]),
            tenant: tenant)
        return CaseDetail(
            pathwayCase: found, definition: definition, patient: patient, patientLabel: Self.pseudonym(patient, id: found.patient),
            timeline: try await timeline(of: id, tenant: tenant), checklists: checklists, sessions: try await treatmentSessions(of: id, tenant: tenant),
            moves: definition.transitions.filter { $0.from == found.stage },
            machineQA: try await found.machine.asyncMap { try await qaStatus(of: $0, tenant: tenant) })
    }

    /// The transitions of a case, oldest first, each with its signature checked.
    func timeline(of id: String, tenant: TenantID) async throws -> [CaseDetail.Step] {
        let provenances = try await fhir.searchAll("Provenance", [("target", "Task/\(id)")], tenant: tenant)
        var steps: [CaseDetail.Step] = []
        for stored in provenances {
            let json = try stored.json()
            let target = json["target"]?.arrayValue?.first?["reference"]?.stringValue ?? ""
            let version = target.split(separator: "/").last.flatMap { Int($0) }
            var valid = false
            if let version, let task = try? await fhir.vread("Task", id, version: version, as: .system(tenant)) {
                valid = verify(json, task: try task.json(), tenant: tenant)
            }
            let agent = json["agent"]?.arrayValue?.first
            steps.append(
                CaseDetail.Step(
                    from: json["entity"]?.arrayValue?.first?["what"]?["display"]?.stringValue,
                    to: json["activity"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? "",
                    who: Self.id(of: agent?["who"]?["reference"]?.stringValue, type: "Practitioner"),
                    role: agent?["role"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue,
                    when: json["recorded"]?.stringValue ?? "", comment: json["reason"]?.arrayValue?.first?["text"]?.stringValue,
                    policy: json["policy"]?.arrayValue?.first?.stringValue, taskVersion: version, signatureValid: valid))
        }
        return steps.sorted { ($0.taskVersion ?? 0, $0.when) < ($1.taskVersion ?? 0, $1.when) }
    }

    /// Pseudonymised labels of patients, for the board's cards.
    public func patientLabels(_ patients: [String], tenant: TenantID) async throws -> [String: String] {
        let unique = Array(Set(patients)).sorted()
        var labels: [String: String] = [:]
        for chunk in unique.chunks(of: 200) {
            for stored in try await fhir.searchAll("Patient", [("_id", chunk.joined(separator: ","))], tenant: tenant) {
                labels[stored.id] = Self.pseudonym(try stored.json(), id: stored.id)
            }
        }
        return labels
    }

    /// Delivered sessions per case, in one query.
    public func sessionCounts(_ cases: [String], tenant: TenantID) async throws -> [String: Int] {
        guard !cases.isEmpty else { return [:] }
        var counts: [String: Int] = [:]
        for chunk in cases.chunks(of: 100) {
            let identifiers = chunk.map { "\(Self.caseSystem)|\($0)" }.joined(separator: ",")
            for stored in try await fhir.searchAll("Procedure", [("identifier", identifiers), ("status", "completed")], tenant: tenant) {
                if let caseID = try stored.json()["identifier"]?.arrayValue?.first?["value"]?.stringValue { counts[caseID, default: 0] += 1 }
            }
        }
        return counts
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
