import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// A hospital as the administration pages and API show it.
public struct Hospital: Sendable, Equatable {
    public var id: String
    public var name: String
    public var finess: String?
    public var active: Bool
}

extension IdentityService {
    func require(_ principal: Principal, _ action: AdminAction) throws {
        guard Policy.permits(principal, action) else { throw IdentityError.forbidden }
    }

    // MARK: hospitals (super admin)

    public func createHospital(by principal: Principal, name: String, finess: String?) async throws -> Hospital {
        try require(principal, .manageHospitals)
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200 else { throw IdentityError.invalid("A hospital needs a name (at most 200 characters).") }
        if let finess, !(finess.count == 9 && finess.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "A" || $0 == "B") }) {
            throw IdentityError.invalid("A FINESS number has 9 characters.")
        }
        let id = ids.makeID()
        try await put(Resources.organization(id: id, name: name, finess: finess), by: principal)
        return Hospital(id: id, name: name, finess: finess, active: true)
    }

    public func hospitals(by principal: Principal) async throws -> [Hospital] {
        var query = try SearchQuery.parse(resourceType: "Organization", parameters: [("type", "prov"), ("_count", "1000"), ("_sort", "name")], handling: .strict)
        query.total = TotalMode.none
        return try await fhir.search(query, as: Policy.caller(principal)).matches.map { try Self.hospital(from: try $0.json()) }
    }

    public func hospital(_ id: String, tenant: TenantID) async throws -> Hospital? {
        guard let stored = try? await fhir.read("Organization", id, as: .system(tenant)) else { return nil }
        return try Self.hospital(from: try stored.json())
    }

    static func hospital(from json: JSON) throws -> Hospital {
        Hospital(
            id: json["id"]?.stringValue ?? "", name: json["name"]?.stringValue ?? "",
            finess: json["identifier"]?.arrayValue?.first { $0["system"]?.stringValue == Resources.finessSystem }?["value"]?.stringValue,
            active: json["active"]?.boolValue ?? true)
    }

    public func updateHospital(by principal: Principal, id: String, name: String?, active: Bool?) async throws -> Hospital {
        try require(principal, .manageHospitals)
        guard var hospital = try await hospital(id, tenant: principal.tenant) else { throw IdentityError.notFound("Hospital \(id)") }
        if let name {
            guard !name.isEmpty, name.count <= 200 else { throw IdentityError.invalid("A hospital needs a name (at most 200 characters).") }
            hospital.name = name
        }
        if let active { hospital.active = active }
        try await put(Resources.organization(id: id, name: hospital.name, finess: hospital.finess, active: hospital.active), by: principal)
        return hospital
    }

    /// Deletes a hospital that no longer has any account.
    public func deleteHospital(by principal: Principal, id: String) async throws {
        try require(principal, .manageHospitals)
        guard try await hospital(id, tenant: principal.tenant) != nil else { throw IdentityError.notFound("Hospital \(id)") }
        guard try await accounts.list(tenant: principal.tenant, hospital: id, roles: []).isEmpty else {
            throw IdentityError.conflict("The hospital still has accounts; delete or move them first.")
        }
        _ = try await fhir.perform(FHIRRequest(method: "DELETE", target: .instance("Organization", id)), as: Self.serviceCaller(principal))
    }

    // MARK: accounts

    /// A hospital-admin account, bound to exactly one existing hospital (super admin only).
    public func createHospitalAdmin(by principal: Principal, _ new: NewAccount, hospital: String) async throws -> Account {
        try require(principal, .manageHospitalAdmins)
        guard new.role == .hospitalAdmin else { throw IdentityError.invalid("This creates hospital-admin accounts.") }
        guard let found = try await self.hospital(hospital, tenant: principal.tenant), found.active else {
            throw IdentityError.invalid("A hospital admin must be bound to one existing, active hospital.")
        }
        return try await createAccount(new, hospital: hospital, tenant: principal.tenant, by: principal)
    }

    /// A staff account of the admin's own hospital, bound to it without naming it.
    public func createStaff(by principal: Principal, _ new: NewAccount) async throws -> Account {
        guard let hospital = principal.hospital else { throw IdentityError.forbidden }
        try require(principal, .manageStaff(hospital: hospital))
        guard Role.staffRoles.contains(new.role) else {
            throw IdentityError.invalid("Staff roles are: \(Role.staffRoles.map(\.rawValue).joined(separator: ", ")).")
        }
        return try await createAccount(new, hospital: hospital, tenant: principal.tenant, by: principal)
    }

    /// A patient account linked to one or more physicians of the secretary's hospital.
    public func createPatient(by principal: Principal, _ new: NewAccount, physicians: [String]) async throws -> Account {
        guard let hospital = principal.hospital else { throw IdentityError.forbidden }
        try require(principal, .createPatient(hospital: hospital))
        guard new.role == .patient else { throw IdentityError.invalid("This creates patient accounts.") }
        guard !physicians.isEmpty else { throw IdentityError.invalid("Link the new patient to at least one physician of your hospital.") }
        let staff = try await accounts.list(tenant: principal.tenant, hospital: hospital, roles: [.physician]).filter(\.active)
        let ours = Set(staff.compactMap(\.practitioner))
        for physician in physicians where !ours.contains(physician) {
            throw IdentityError(422, "physician-not-in-hospital", "Practitioner \(physician) is not an active physician of your hospital.")
        }
        return try await createAccount(new, hospital: nil, linkTo: Array(Set(physicians)).sorted(), tenant: principal.tenant, by: principal)
    }

    /// Accounts of a hospital, or the hospital admins of every hospital for a super admin.
    public func accounts(by principal: Principal, hospital: String?) async throws -> [Account] {
        if principal.role == .superAdmin, hospital == nil {
            return try await accounts.list(tenant: principal.tenant, hospital: nil, roles: [.hospitalAdmin])
        }
        guard let hospital = hospital ?? principal.hospital else { throw IdentityError.forbidden }
        try require(principal, .viewStaff(hospital: hospital))
        return try await accounts.list(tenant: principal.tenant, hospital: hospital, roles: Role.staffRoles + [.hospitalAdmin])
    }

    /// Loads an account the principal may manage: hospital admins by a super admin, staff by
    /// an admin of their hospital. Others answer 404 or 403.
    func managed(_ id: AccountID, by principal: Principal) async throws -> Account {
        guard let target = try await accounts.find(id, tenant: principal.tenant) else { throw IdentityError.notFound("Account \(id)") }
        switch target.role {
        case .hospitalAdmin: try require(principal, .manageHospitalAdmins)
        case .superAdmin, .patient: throw IdentityError.forbidden
        default:
            guard let hospital = target.hospital else { throw IdentityError.forbidden }
            try require(principal, .manageStaff(hospital: hospital))
        }
        return target
    }

    /// Edits an account's e-mail, activity or (for staff) role. A password is never set here
    /// (DESIGN §6). A role change rewrites the PractitionerRole in the same transaction.
    public func updateAccount(by principal: Principal, _ id: AccountID, email: String?, active: Bool?, role: Role? = nil) async throws -> Account {
        var target = try await managed(id, by: principal)
        if let role, role != target.role {
            guard Role.staffRoles.contains(target.role), Role.staffRoles.contains(role) else {
                throw IdentityError.invalid("Only staff roles change, to another staff role.")
            }
            return try await changeRole(of: target, to: role, by: principal)
        }
        if let email {
            guard email.contains("@"), email.count <= 254 else { throw IdentityError.invalid("The e-mail address is not valid.") }
            target.email = email
        }
        if let active { target.active = active }
        let updated = target
        let now = now()
        let record = AuditRecord(
            agent: Self.agent(principal), kind: .accountChange, action: .update, entities: updated.practitioner.map { ["Practitioner/\($0)"] } ?? [],
            detail: "account \(updated.id)\(active == false ? " deactivated" : active == true ? " activated" : " updated")")
        let write: @Sendable (any SQLDatabase) async throws -> Void = { database in
            try await database.raw(
                "UPDATE accounts SET email = \(bind: updated.email), active = \(bind: updated.active), updated_at = \(bind: now) WHERE id = \(bind: updated.id.rawValue)"
            ).run()
            if !updated.active {
                try await database.raw("UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE account_id = \(bind: updated.id.rawValue) AND revoked_at IS NULL").run()
            }
        }
        // The directory says whether a practitioner works: a deactivated physician leaves the
        // list patients book from, in the same transaction as the account.
        if let active, let practitioner = updated.practitioner,
            case .object(var object) = try await fhir.read("Practitioner", practitioner, as: .system(principal.tenant)).json(),
            object["active"]?.boolValue != active
        {
            object["active"] = .bool(active)
            object.removeValue(forKey: "meta")
            _ = try await fhir.transaction(Resources.transaction([Self.put(.object(object))]), as: .system(principal.tenant), audit: [record], alongside: write)
        } else {
            try await fhir.audited([record], tenant: principal.tenant, write)
        }
        logger.info("account updated", metadata: ["account": "\(id)", "by": "\(principal.account)"])
        return updated
    }

    func changeRole(of target: Account, to role: Role, by principal: Principal) async throws -> Account {
        guard let practitioner = target.practitioner else { throw IdentityError.invalid("This account has no practitioner.") }
        let system = Caller.system(principal.tenant)
        let roles = try await fhir.search(
            try SearchQuery.parse(resourceType: "PractitionerRole", parameters: [("practitioner", "Practitioner/\(practitioner)")]), as: system)
        guard let current = roles.matches.first, case .object(var object) = try current.json() else {
            throw IdentityError.notFound("The PractitionerRole of account \(target.id)")
        }
        object["code"] = [["coding": [["system": .string(Role.codeSystem), "code": .string(role.code)]]]]
        if role != .physician { object.removeValue(forKey: "specialty") }
        var updated = target
        updated.role = role
        let record = AuditRecord(
            agent: Self.agent(principal), kind: .accountChange, action: .update, entities: ["Practitioner/\(practitioner)"],
            detail: "account \(target.id) role \(target.role.rawValue) → \(role.rawValue)")
        let now = now()
        let account = updated
        _ = try await fhir.transaction(Resources.transaction([Self.put(.object(object))]), as: system, audit: [record]) { database in
            try await database.raw(
                "UPDATE accounts SET role = \(bind: account.role.rawValue), updated_at = \(bind: now) WHERE id = \(bind: account.id.rawValue)"
            ).run()
        }
        logger.info("account role changed", metadata: ["account": "\(target.id)", "by": "\(principal.account)"])
        return updated
    }

    /// Deletes an account: the sign-in goes; the Practitioner stays (inactive) because the
    /// record names them.
    public func deleteAccount(by principal: Principal, _ id: AccountID) async throws {
        let target = try await managed(id, by: principal)
        if let practitioner = target.practitioner, var json = try? await fhir.read("Practitioner", practitioner, as: .system(principal.tenant)).json(),
            case .object(var object) = json
        {
            object["active"] = false
            json = .object(object)
            try await put(json, by: principal)
        }
        let record = AuditRecord(
            agent: Self.agent(principal), kind: .accountChange, action: .delete, entities: target.practitioner.map { ["Practitioner/\($0)"] } ?? [],
            detail: "account \(target.id) deleted")
        try await fhir.audited([record], tenant: principal.tenant) { database in
            try await database.raw("DELETE FROM refresh_tokens WHERE account_id = \(bind: target.id.rawValue)").run()
            try await database.raw("DELETE FROM accounts WHERE id = \(bind: target.id.rawValue)").run()
        }
        logger.info("account deleted", metadata: ["account": "\(id)", "by": "\(principal.account)"])
    }
}

extension IdentityService {
    /// Display names ("Given Family") of Practitioners or Patients, by id, for lists.
    public func displayNames(_ type: String, ids: [String], tenant: TenantID) async throws -> [String: String] {
        try await fhir.displayNames(type, ids: ids, tenant: tenant)
    }

    /// Active physicians of a hospital, with their names, for the patient form.
    public func physicians(of hospital: String, tenant: TenantID) async throws -> [(practitioner: String, name: String)] {
        let staff = try await accounts.list(tenant: tenant, hospital: hospital, roles: [.physician]).filter(\.active).compactMap(\.practitioner)
        let names = try await displayNames("Practitioner", ids: staff, tenant: tenant)
        return staff.map { ($0, names[$0] ?? $0) }.sorted { $0.name < $1.name }
    }
}
