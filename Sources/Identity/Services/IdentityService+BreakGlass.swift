import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

extension IdentityService {
    /// Opens an unlinked patient's record to a physician for `duration` seconds, for a written
    /// reason (DESIGN §6). The grant, its AuditEvent (with the reason) and an in-app
    /// notification to the patient's care team are written in one transaction.
    public func breakTheGlass(by principal: Principal, account: Account, patient: String, reason: String, duration: Int) async throws -> Date {
        guard principal.role == .physician, principal.practitioner != nil else {
            throw IdentityError(403, "forbidden", "Only physicians may open a record through break-the-glass.")
        }
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.count >= 10, reason.count <= 1000 else {
            throw IdentityError.invalid("Explain why in 10 to 1000 characters: the reason is kept in the audit trail.")
        }
        let system = Caller.system(principal.tenant)
        guard (try? await fhir.read("Patient", patient, as: system)) != nil else { throw IdentityError.notFound("Patient \(patient)") }
        let teams = try await fhir.search(
            try SearchQuery.parse(resourceType: "CareTeam", parameters: [("subject", "Patient/\(patient)"), ("status", "active")]), as: system)
        var recipients: [String] = []
        for team in teams.matches {
            for participant in try team.json()["participant"]?.arrayValue ?? [] {
                if let reference = participant["member"]?["reference"]?.stringValue, reference.hasPrefix("Practitioner/"), !recipients.contains(reference) {
                    recipients.append(reference)
                }
            }
        }
        let now = clock.now()
        let expires = now.addingTimeInterval(TimeInterval(duration))
        let grant = ids.makeID()
        let record = AuditRecord(
            agent: Self.agent(principal), kind: .breakTheGlass, action: .execute, entities: recipients, patients: [patient], detail: reason)
        let notification = HygieResources.notification(
            id: ids.makeID(), patient: patient, recipients: recipients, sender: principal.reference, sent: FHIRDateTime.instantString(epochMillis: Self.millis(now)),
            code: "break-the-glass",
            text: "Accès d'urgence (bris de glace) au dossier par \(principal.reference ?? principal.account), jusqu'à \(FHIRDateTime.instantString(epochMillis: Self.millis(expires))). Motif consigné au journal d'audit.")
        let tenant = principal.tenant
        _ = try await fhir.transaction(Resources.transaction([Self.put(notification)]), as: system, audit: [record]) { database in
            try await database.raw(
                """
                INSERT INTO break_glass_grants (id, tenant_id, account_id, patient_id, granted_at, expires_at)
                VALUES (\(bind: grant), \(bind: tenant.rawValue), \(bind: account.id.rawValue), \(bind: patient), \(bind: Self.millis(now)), \(bind: Self.millis(expires)))
                """
            ).run()
        }
        logger.notice("break-the-glass", metadata: ["account": "\(account.id)", "grant": "\(grant)"])
        return expires
    }

    /// Patients the account holds running break-the-glass grants for.
    public func breakGlassPatients(_ account: Account) async throws -> [String] {
        guard account.role == .physician else { return [] }
        let now = Self.millis(clock.now())
        return try await database.read { database in
            try await database.raw(
                "SELECT DISTINCT patient_id FROM break_glass_grants WHERE account_id = \(bind: account.id.rawValue) AND expires_at > \(bind: now)"
            ).all().map { try $0.decode(column: "patient_id", as: String.self) }
        }
    }

    static func millis(_ date: Date) -> Int64 { FHIRDateTime.epochMillis(date) }
}
