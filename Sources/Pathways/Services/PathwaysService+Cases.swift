import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage

/// What a technologist gives to open a case.
public struct NewCase: Sendable {
    public var pathway: String
    public var patient: String
    public var priority: PathwayCase.Priority
    public var machine: String?
    public var protocolName: String?
    public var pathology: String?
    public var referringPhysician: String?
    public var plannedSessions: Int?

    public init(
        pathway: String = "radiotherapy", patient: String, priority: PathwayCase.Priority = .routine, machine: String? = nil, protocolName: String? = nil,
        pathology: String? = nil, referringPhysician: String? = nil, plannedSessions: Int? = nil
    ) {
        self.pathway = pathway
        self.patient = patient
        self.priority = priority
        self.machine = machine
        self.protocolName = protocolName
        self.pathology = pathology
        self.referringPhysician = referringPhysician
        self.plannedSessions = plannedSessions
    }
}

/// The board's filters.
public struct CaseFilter: Sendable {
    public var pathway: String
    public var stage: String?
    public var priority: PathwayCase.Priority?
    public var pathology: String?
    public var machine: String?
    public var referringPhysician: String?
    public var includeClosed: Bool

    public init(
        pathway: String = "radiotherapy", stage: String? = nil, priority: PathwayCase.Priority? = nil, pathology: String? = nil, machine: String? = nil,
        referringPhysician: String? = nil, includeClosed: Bool = true
    ) {
        self.pathway = pathway
        self.stage = stage
        self.priority = priority
        self.pathology = pathology
        self.machine = machine
        self.referringPhysician = referringPhysician
        self.includeClosed = includeClosed
    }
}

extension PathwaysService {
    /// Opens a case in the pathway's first stage. Only the roles of that stage open cases, for
    /// a patient they may see, at their own hospital.
    public func open(_ new: NewCase, by principal: Principal) async throws -> PathwayCase {
        guard Self.worksOnCases(principal), let hospital = principal.hospital else { throw ServiceError.forbidden }
        let definition = try await definition(new.pathway, tenant: principal.tenant)
        guard let first = definition.initialStage else { throw ServiceError.conflict("This pathway has no stage.") }
        guard first.roles.contains(principal.role) else {
            throw ServiceError(
                403, "forbidden", "Only a \(first.roles.map(\.title.en).joined(separator: " or a ")) opens a \(definition.title.en.lowercased()) case.")
        }
        guard PrimitiveType.isValidID(new.patient) else { throw ServiceError.invalid("\"patient\" is not a valid id.") }
        do {
            _ = try await fhir.read("Patient", new.patient, as: Policy.caller(principal))
        } catch let error as FHIRError where error.status == 404 || error.status == 403 || error.status == 410 {
            throw ServiceError.notFound("Patient \(new.patient)")
        }
        try await checkInputs(machine: new.machine, referrer: new.referringPhysician, sessions: new.plannedSessions, hospital: hospital, tenant: principal.tenant)
        let id = ids.makeID()
        let when = Self.instant(now())
        var task: JSONObject = [
            "resourceType": "Task", "id": .string(id), "status": "in-progress", "intent": "order",
            "identifier": [["system": .string(Self.caseSystem), "value": .string(id)]],
            "code": ["coding": [["system": .string(Self.pathwaySystem), "code": .string(definition.code), "display": .string(definition.title.fr)]]],
            "businessStatus": Self.stageConcept(first),
            "for": ["reference": .string("Patient/\(new.patient)")],
            "owner": ["reference": .string("Organization/\(hospital)")],
            "priority": .string(new.priority.rawValue), "authoredOn": .string(when), "lastModified": .string(when),
            "extension": [["url": .string(Self.stageEnteredURL), "valueDateTime": .string(when)]],
        ]
        if let requester = principal.practitioner { task["requester"] = ["reference": .string("Practitioner/\(requester)")] }
        task["input"] = .array(
            Self.inputs(
                machine: new.machine, protocolName: try Self.text(new.protocolName, field: "protocol", limit: 200),
                pathology: try Self.text(new.pathology, field: "pathology", limit: 200), referrer: new.referringPhysician, sessions: new.plannedSessions))
        if task["input"]?.arrayValue?.isEmpty == true { task.removeValue(forKey: "input") }
        let provenance = try signedProvenance(
            task: .object(task), taskID: id, version: 1, definition: definition, from: nil, to: first, comment: nil, by: principal, when: when)
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("create"), action: .create, entities: ["Task/\(id)"], patients: [new.patient],
            detail: "pathway case opened")
        _ = try await fhir.transaction(HygieResources.transaction([HygieResources.put(.object(task)), HygieResources.put(provenance)]), as: .system(principal.tenant), audit: [record]) { _ in }
        logger.info("pathway case opened", metadata: ["case": "\(id)", "pathway": "\(definition.code)"])
        return try await pathwayCase(id, by: principal)
    }

    /// The case, when `principal` works on its hospital's cases and may see its patient.
    public func pathwayCase(_ id: String, by principal: Principal) async throws -> PathwayCase {
        let (found, _) = try await loadCase(id, by: principal)
        return found
    }

    /// The case and its Task, after the visibility check.
    func loadCase(_ id: String, by principal: Principal) async throws -> (PathwayCase, JSONObject) {
        guard Self.worksOnCases(principal), PrimitiveType.isValidID(id) else { throw ServiceError.notFound("Case \(id)") }
        let stored: StoredResource
        do {
            stored = try await fhir.read("Task", id, as: principal.serviceCaller)
        } catch let error as FHIRError where error.status == 404 || error.status == 410 {
            throw ServiceError.notFound("Case \(id)")
        }
        guard let json = try stored.json().objectValue, let found = PathwayCase(task: .object(json), version: stored.version),
            found.hospital == principal.hospital
        else { throw ServiceError.notFound("Case \(id)") }
        guard try await visiblePatients([found.patient], to: principal).contains(found.patient) else { throw ServiceError.notFound("Case \(id)") }
        return (found, json)
    }

    /// Of `patients`, those `principal` may read (one query, filtered by the access rules).
    func visiblePatients(_ patients: [String], to principal: Principal) async throws -> Set<String> {
        let unique = Array(Set(patients)).sorted()
        var visible: Set<String> = []
        for chunk in unique.chunks(of: 200) {
            let found = try await fhir.searchAll("Patient", [("_id", chunk.joined(separator: ","))], caller: Policy.caller(principal))
            visible.formUnion(found.map(\.id))
        }
        return visible
    }

    /// The hospital's cases of a pathway that `principal` may see, filtered like the board.
    public func cases(_ filter: CaseFilter, by principal: Principal) async throws -> [PathwayCase] {
        guard Self.worksOnCases(principal), let hospital = principal.hospital else { throw ServiceError.forbidden }
        var parameters: [(String, String)] = [
            ("code", "\(Self.pathwaySystem)|\(filter.pathway)"), ("owner", "Organization/\(hospital)"),
        ]
        if let stage = filter.stage { parameters.append(("business-status", "\(Self.stageSystem)|\(stage)")) }
        if let priority = filter.priority { parameters.append(("priority", priority.rawValue)) }
        if !filter.includeClosed { parameters.append(("status:not", "completed")) }
        let tasks = try await fhir.searchAll("Task", parameters, tenant: principal.tenant)
        var found = try tasks.compactMap { stored in PathwayCase(task: try stored.json(), version: stored.version) }
        if let machine = filter.machine { found = found.filter { $0.machine == machine } }
        if let referrer = filter.referringPhysician { found = found.filter { $0.referringPhysician == referrer } }
        if let pathology = filter.pathology?.lowercased(), !pathology.isEmpty {
            found = found.filter { $0.pathology?.lowercased().contains(pathology) == true }
        }
        let visible = try await visiblePatients(found.map(\.patient), to: principal)
        return found.filter { visible.contains($0.patient) }.sorted { ($0.stageEntered, $0.id) < ($1.stageEntered, $1.id) }
    }

    /// Moves a case to `target` when the definition in force lets `principal` do it now: the
    /// Task's new version, its signed Provenance and, for a backward move, notices to the roles
    /// whose work it undoes, in one transaction. `expectedVersion` refuses a move decided on a
    /// stale view of the case.
    public func move(_ id: String, to target: String, comment: String?, expectedVersion: Int? = nil, by principal: Principal) async throws -> PathwayCase {
        let (found, task) = try await loadCase(id, by: principal)
        if let expectedVersion, expectedVersion != found.version {
            throw ServiceError(409, "changed-meanwhile", "Someone moved or changed this case meanwhile: reload it and try again.")
        }
        let definition = try await definition(found.pathway, tenant: principal.tenant)
        let comment = try Self.text(comment, field: "comment")
        let facts = try await facts(of: found, tenant: principal.tenant)
        let refusals = definition.refusals(moving: facts, to: target, role: principal.role, comment: comment)
        guard refusals.isEmpty else { throw Self.refused(refusals) }
        guard let from = definition.stage(found.stage), let to = definition.stage(target) else { throw ServiceError.notFound("Stage \(target)") }
        let when = Self.instant(now())
        var moved = task
        moved.removeValue(forKey: "meta")
        moved["businessStatus"] = Self.stageConcept(to)
        moved["lastModified"] = .string(when)
        let last = definition.stages.last?.code == to.code && !definition.transitions.contains { $0.from == to.code }
        moved["status"] = last ? "completed" : "in-progress"
        var extensions = (moved["extension"]?.arrayValue ?? []).filter { $0["url"]?.stringValue != Self.stageEnteredURL }
        extensions.append(["url": .string(Self.stageEnteredURL), "valueDateTime": .string(when)])
        moved["extension"] = .array(extensions)
        let provenance = try signedProvenance(
            task: .object(moved), taskID: id, version: found.version + 1, definition: definition, from: from, to: to, comment: comment, by: principal,
            when: when)
        var entries = [HygieResources.put(.object(moved), ifMatch: found.version), HygieResources.put(provenance)]
        let backward = definition.isBackward(from: from.code, to: to.code)
        if backward {
            entries += try await backwardNotices(found, definition: definition, from: from, to: to, comment: comment ?? "", by: principal, sent: when)
        }
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update, entities: ["Task/\(id)"], patients: [found.patient],
            detail: "pathway transition \(from.code) → \(to.code)")
        do {
            _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(principal.tenant), audit: [record]) { _ in }
        } catch let error where Self.isConflict(error) {
            throw ServiceError(409, "changed-meanwhile", "Someone moved or changed this case meanwhile: reload it and try again.")
        }
        logger.info("pathway transition", metadata: ["case": "\(id)", "from": "\(from.code)", "to": "\(to.code)", "backward": "\(backward)"])
        return try await pathwayCase(id, by: principal)
    }

    /// Why `principal` may not move the case to `target` now (empty when they may): what the
    /// board explains when a card is dropped on a refused column.
    public func refusals(moving id: String, to target: String, comment: String?, by principal: Principal) async throws -> [Refusal] {
        let (found, _) = try await loadCase(id, by: principal)
        let definition = try await definition(found.pathway, tenant: principal.tenant)
        return definition.refusals(moving: try await facts(of: found, tenant: principal.tenant), to: target, role: principal.role, comment: comment)
    }

    /// A refusal as the API says it: 403 when the role alone is the obstacle, 409 otherwise;
    /// the codes in `details`.
    static func refused(_ refusals: [Refusal]) -> ServiceError {
        let status = refusals.allSatisfy { $0.code == "role" } ? 403 : 409
        return ServiceError(status, "transition-refused", refusals.map(\.text.en).joined(separator: " "), details: refusals.map(\.code))
    }

    /// What the engine needs to know of a case, read from its checklists, sessions and machine.
    func facts(of found: PathwayCase, tenant: TenantID) async throws -> CaseFacts {
        let machineOK: Bool
        if let machine = found.machine { machineOK = try await qaStatus(of: machine, tenant: tenant).okToday } else { machineOK = false }
        return CaseFacts(
            stage: found.stage, ticked: try await ticked(found, tenant: tenant), machine: found.machine, machineQAOK: machineOK,
            sessionsDone: try await sessions(of: found.id, tenant: tenant).count, sessionsPlanned: found.plannedSessions)
    }

    static func stageConcept(_ stage: PathwayDefinition.Stage) -> JSON {
        ["coding": [["system": .string(stageSystem), "code": .string(stage.code), "display": .string(stage.title.fr)]], "text": .string(stage.title.fr)]
    }

    static func inputs(machine: String?, protocolName: String?, pathology: String?, referrer: String?, sessions: Int?) -> [JSON] {
        func input(_ code: String, _ key: String, _ value: JSON) -> JSON {
            ["type": ["coding": [["system": .string(inputSystem), "code": .string(code)]]], .init(key): value]
        }
        let codes = PathwayCase.inputCodes
        var inputs: [JSON] = []
        if let machine { inputs.append(input(codes.machine, "valueReference", ["reference": .string("Device/\(machine)")])) }
        if let protocolName { inputs.append(input(codes.protocolName, "valueString", .string(protocolName))) }
        if let pathology { inputs.append(input(codes.pathology, "valueString", .string(pathology))) }
        if let referrer { inputs.append(input(codes.referrer, "valueReference", ["reference": .string("Practitioner/\(referrer)")])) }
        if let sessions { inputs.append(input(codes.sessions, "valueUnsignedInt", .number(JSONNumber(sessions)))) }
        return inputs
    }

    /// The machine must be one of the hospital's, the referrer a practitioner, the sessions 1–60.
    func checkInputs(machine: String?, referrer: String?, sessions: Int?, hospital: String, tenant: TenantID) async throws {
        if let machine {
            guard PrimitiveType.isValidID(machine), let device = try? await fhir.read("Device", machine, as: .system(tenant)),
                Self.id(of: try device.json()["owner"]?["reference"]?.stringValue, type: "Organization") == hospital
            else { throw ServiceError.invalid("Machine \(machine) is not a treatment machine of your hospital.") }
        }
        if let referrer {
            guard PrimitiveType.isValidID(referrer), (try? await fhir.read("Practitioner", referrer, as: .system(tenant))) != nil else {
                throw ServiceError.invalid("Referring physician \(referrer) does not exist.")
            }
        }
        if let sessions, !(1...60).contains(sessions) { throw ServiceError.invalid("\"planned_sessions\" is between 1 and 60.") }
    }
}
