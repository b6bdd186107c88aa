import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// Care pathways (issue 6): cases moving through a pathway's stages under its rules, their
/// checklists, signed validations and treatment sessions, and the machines and QA the
/// sessions depend on.
///
/// Task, Provenance, QuestionnaireResponse, Procedure, Device, and the QA Observations and
/// DiagnosticReports are written here after Pathways' own checks, as the server in the name of
/// the principal who asked (so the audit trail names them), like Scheduling does.
public struct PathwaysService: Sendable {
    let fhir: FHIRStore
    let keyRing: KeyRing
    let clock: any WallClock
    let ids: any IDGenerator
    let logger: Logger
    /// The time zone a "day" of machine QA is counted in.
    let timeZone: TimeZone

    public init(
        fhir: FHIRStore, keyRing: KeyRing, clock: any WallClock, ids: any IDGenerator, logger: Logger,
        timeZone: TimeZone = TimeZone(identifier: "Europe/Paris")!
    ) {
        self.fhir = fhir
        self.keyRing = keyRing
        self.clock = clock
        self.ids = ids
        self.logger = logger
        self.timeZone = timeZone
    }

    /// Pathways Hygie ships, by code: the version 1 every tenant starts from.
    public static let builtIn: [String: PathwayDefinition] = ["radiotherapy": .radiotherapy]

    static let pathwaySystem = "https://hygie.health/fhir/CodeSystem/pathway"
    static let stageSystem = "https://hygie.health/fhir/CodeSystem/pathway-stage"
    static let inputSystem = "https://hygie.health/fhir/CodeSystem/pathway-input"
    static let caseSystem = "https://hygie.health/fhir/sid/pathway-case"
    static let stageEnteredURL = "https://hygie.health/fhir/StructureDefinition/pathway-stage-entered"
    static let questionnaireBase = "https://hygie.health/fhir/Questionnaire"
    static let policyBase = "https://hygie.health/pathways"

    func now() -> Date { clock.now() }

    static func instant(_ date: Date) -> String { FHIRDateTime.instantString(epochMillis: FHIRDateTime.epochMillis(date)) }

    static func millis(_ text: String?) -> Int64? {
        guard let text else { return nil }
        return FHIRDateTime.parse(text, grammar: .dateTime)?.range.lowerBound
    }

    static func id(of reference: String?, type: String) -> String? {
        guard let reference, reference.hasPrefix(type + "/") else { return nil }
        let rest = reference.dropFirst(type.count + 1)
        return String(rest.split(separator: "/").first ?? rest)
    }

    /// Staff who work on a hospital's cases: the radiotherapy roles and its physicians.
    public static func worksOnCases(_ principal: Principal) -> Bool {
        principal.hospital != nil && (Role.radiotherapyRoles.contains(principal.role) || principal.role == .physician)
    }

    static func text(_ value: String?, field: String, limit: Int = 2000) throws -> String? {
        guard let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        guard trimmed.count <= limit else { throw ServiceError.invalid("\"\(field)\" has at most \(limit) characters.") }
        return trimmed
    }
}

// MARK: definitions

extension PathwaysService {
    /// The definition in force for `pathway`: its newest saved version, or Hygie's version 1.
    public func definition(_ pathway: String, tenant: TenantID) async throws -> PathwayDefinition {
        let row = try await fhir.database.read { database in
            try await database.raw(
                """
                SELECT body FROM pathway_definitions WHERE tenant_id = \(bind: tenant.rawValue) AND pathway = \(bind: pathway)
                ORDER BY version DESC LIMIT 1
                """
            ).first()
        }
        if let row {
            let body = try row.decode(column: "body", as: String.self)
            return try JSONDecoder().decode(PathwayDefinition.self, from: Data(body.utf8))
        }
        guard let builtIn = Self.builtIn[pathway] else { throw ServiceError.notFound("Pathway \"\(pathway)\"") }
        return builtIn
    }

    /// Every pathway of the tenant, in force.
    public func definitions(tenant: TenantID) async throws -> [PathwayDefinition] {
        var found: [PathwayDefinition] = []
        for code in Self.builtIn.keys.sorted() { found.append(try await definition(code, tenant: tenant)) }
        return found
    }

    /// Who may change a pathway's definition: the group's super admin and hospital admins.
    static func mayEditDefinitions(_ principal: Principal) -> Bool { [.superAdmin, .hospitalAdmin].contains(principal.role) }

    /// Saves `edit(current)` as the next version, with a Questionnaire per stage checklist, in
    /// one transaction with its audit record. A concurrent edit makes this one fail with 409
    /// rather than overwrite it.
    @discardableResult
    public func editDefinition(
        _ pathway: String, by principal: Principal, detail: String, _ edit: (inout PathwayDefinition) throws -> Void
    ) async throws -> PathwayDefinition {
        guard Self.mayEditDefinitions(principal) else { throw ServiceError.forbidden }
        let current = try await definition(pathway, tenant: principal.tenant)
        var edited = current
        try edit(&edited)
        edited.code = current.code
        edited.version = current.version + 1
        let problems = edited.problems()
        guard problems.isEmpty else { throw ServiceError(422, "invalid-definition", problems.joined(separator: " "), details: problems) }
        let body = String(decoding: try Self.encoder.encode(edited), as: UTF8.self)
        let entries = Self.questionnaires(for: edited).map { HygieResources.put($0) }
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update,
            entities: ["\(Self.policyBase)/\(pathway)/v\(edited.version)"], detail: "pathway definition: \(detail)")
        let tenant = principal.tenant
        let created = FHIRDateTime.epochMillis(now())
        let version = edited.version
        do {
            _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(tenant), audit: [record]) { database in
                try await database.raw(
                    """
                    INSERT INTO pathway_definitions (tenant_id, pathway, version, body, created_at, created_by)
                    VALUES (\(bind: tenant.rawValue), \(bind: pathway), \(bind: version), \(bind: body), \(bind: created), \(bind: principal.account))
                    """
                ).run()
            }
        } catch let error where Self.isConflict(error) {
            throw ServiceError(409, "changed-meanwhile", "Someone changed this pathway at the same time: reload it and try again.")
        }
        logger.info("pathway definition saved", metadata: ["pathway": "\(pathway)", "version": "\(version)"])
        return edited
    }

    /// A unique-key violation (two editors saving the same version number) or a resource
    /// changed by someone else since it was read.
    static func isConflict(_ error: any Error) -> Bool {
        if let error = error as? FHIRError { return error.status == 409 || error.status == 412 }
        return StorageError.classify(error) == .uniqueViolation
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    /// One Questionnaire per stage with a checklist (and one for the pre-session checklist),
    /// versioned with the definition: `Questionnaire/{pathway}-{stage}-v{version}`.
    static func questionnaires(for definition: PathwayDefinition) -> [JSON] {
        var lists = definition.stages.filter { !$0.checklist.isEmpty }.map { ($0.code, $0.title, $0.checklist) }
        if let sessions = definition.sessions {
            lists.append(("session", LocalizedText(fr: "Check-list pré-séance", en: "Pre-session checklist"), sessions.checklist))
        }
        return lists.map { stage, title, items in
            .object([
                "resourceType": "Questionnaire", "id": .string(questionnaireID(definition, stage)),
                "url": .string("\(questionnaireBase)/\(definition.code)-\(stage)"), "version": .string(String(definition.version)),
                "name": .string("\(definition.code)-\(stage)".replacingOccurrences(of: "-", with: "_")),
                "title": .string("\(definition.title.fr) — \(title.fr)"), "status": "active", "subjectType": ["Patient"],
                "item": .array(
                    items.map { item in
                        ["linkId": .string(item.code), "text": .string(item.text.fr), "type": "boolean", "required": .bool(item.mandatory)]
                    }),
            ])
        }
    }

    static func questionnaireID(_ definition: PathwayDefinition, _ stage: String) -> String { "\(definition.code)-\(stage)-v\(definition.version)" }
}
