import Core
import FHIR
import SQLKit
import Storage

/// Grants rendered as SQL over `fhir_resources` rows, so that what a caller may not see is
/// filtered before paging and counting, never after (DESIGN §2).
struct GrantSQL {
    let keys: SearchParameterKeys
    let tenant: TenantID

    /// The condition a row aliased `resource` must meet to be in `grant`; nil when every row
    /// of the tenant is.
    func condition(_ grant: Grant, on resource: String) -> SQLQueryString? {
        guard !grant.everything else { return nil }
        var alternatives: [SQLQueryString] = []
        if !grant.openTypes.isEmpty {
            alternatives.append("\(unsafeRaw: resource).resource_type IN (\(binds: grant.openTypes.sorted()))")
        }
        if grant.patients != .none {
            // A Patient is in its own compartment (see ResourceIndexer.patientCompartments).
            var member: SQLQueryString = "EXISTS (SELECT 1 FROM fhir_compartments ac WHERE ac.rid = \(unsafeRaw: resource).rid AND ac.compartment_type = 'Patient'"
            if let patients = membership(grant.patients, column: "ac.compartment_id") { member += " AND " + patients }
            member += ")"
            if let types = grant.compartmentTypes {
                member = "\(unsafeRaw: resource).resource_type IN (\(binds: types.sorted())) AND " + member
            }
            alternatives.append(member)
        }
        for granted in grant.byPractitioner {
            let parameter = keys.key(granted.type, granted.parameter) ?? -1
            alternatives.append(
                """
                (\(unsafeRaw: resource).resource_type = \(bind: granted.type) AND EXISTS (SELECT 1 FROM fhir_idx_reference pa
                WHERE pa.rid = \(unsafeRaw: resource).rid AND pa.pid = \(bind: parameter) AND pa.target_type = 'Practitioner'
                AND pa.target_id IN (\(practitionerIDs(granted.practitioners)))))
                """)
        }
        if alternatives.isEmpty { return "1 = 0" }
        return alternatives.count == 1 ? alternatives[0] : "(" + alternatives.ored() + ")"
    }

    /// The condition that `column` holds the id of a patient of `set`; nil for every patient.
    /// `correlated` looks each row's patient up (EXISTS) instead of listing the set once (IN):
    /// cheaper when few rows are tested against a large set, as when one study is opened.
    func membership(_ set: PatientSet, column: String, correlated: Bool = false) -> SQLQueryString? {
        switch set {
        case .none: return "1 = 0"
        case .all: return nil
        case .ids(let ids): return ids.isEmpty ? "1 = 0" : "\(unsafeRaw: column) IN (\(binds: ids))"
        case .union(let sets):
            var parts: [SQLQueryString] = []
            for part in sets {
                guard let condition = membership(part, column: column, correlated: correlated) else { return nil }
                parts.append(condition)
            }
            return parts.isEmpty ? "1 = 0" : "(" + parts.ored() + ")"
        case .linkedTo(let practitioners):
            let subject = keys.key("CareTeam", "subject") ?? -1
            let participant = keys.key("CareTeam", "participant") ?? -1
            let status = keys.key("CareTeam", "status") ?? -1
            if correlated {
                return """
                    EXISTS (SELECT 1 FROM fhir_idx_reference cs
                    JOIN fhir_idx_reference cp ON cp.rid = cs.rid AND cp.pid = \(bind: participant) AND cp.target_type = 'Practitioner'
                        AND cp.target_id IN (\(practitionerIDs(practitioners)))
                    JOIN fhir_idx_token cst ON cst.rid = cs.rid AND cst.pid = \(bind: status) AND cst.code = 'active'
                    JOIN fhir_resources ct ON ct.rid = cs.rid AND ct.tenant_id = \(bind: tenant.rawValue) AND ct.deleted = \(bind: false)
                    WHERE cs.pid = \(bind: subject) AND cs.target_type = 'Patient' AND cs.target_id = \(unsafeRaw: column))
                    """
            }
            return """
                \(unsafeRaw: column) IN (SELECT cs.target_id FROM fhir_idx_reference cs
                JOIN fhir_idx_reference cp ON cp.rid = cs.rid AND cp.pid = \(bind: participant) AND cp.target_type = 'Practitioner'
                    AND cp.target_id IN (\(practitionerIDs(practitioners)))
                JOIN fhir_idx_token cst ON cst.rid = cs.rid AND cst.pid = \(bind: status) AND cst.code = 'active'
                JOIN fhir_resources ct ON ct.rid = cs.rid AND ct.tenant_id = \(bind: tenant.rawValue) AND ct.deleted = \(bind: false)
                WHERE cs.pid = \(bind: subject) AND cs.target_type = 'Patient')
                """
        }
    }

    func practitionerIDs(_ set: PractitionerSet) -> SQLQueryString {
        switch set {
        case .ids(let ids):
            return ids.isEmpty ? "SELECT NULL WHERE 1 = 0" : "\(binds: ids)"
        case .ofOrganization(let organization):
            let practitioner = keys.key("PractitionerRole", "practitioner") ?? -1
            let employer = keys.key("PractitionerRole", "organization") ?? -1
            return """
                SELECT rp.target_id FROM fhir_idx_reference rp
                JOIN fhir_idx_reference ro ON ro.rid = rp.rid AND ro.pid = \(bind: employer) AND ro.target_type = 'Organization'
                    AND ro.target_id = \(bind: organization)
                JOIN fhir_resources pr ON pr.rid = rp.rid AND pr.tenant_id = \(bind: tenant.rawValue) AND pr.deleted = \(bind: false)
                WHERE rp.pid = \(bind: practitioner) AND rp.target_type = 'Practitioner'
                """
        }
    }
}

extension FHIRStore {
    func grantSQL(_ tenant: TenantID) -> GrantSQL {
        GrantSQL(keys: keys, tenant: tenant)
    }

    /// Checks that the caller may write a resource of `type` belonging to the compartments of
    /// `patients`: the type must be open to the caller, or every patient it concerns must be
    /// one whose record the caller may change. Throws 403 otherwise.
    func authorizeWrite(type: String, id: String, patients: [String], caller: Caller, on database: any SQLDatabase) async throws {
        if type == "AuditEvent", !caller.isAuditTrail {
            throw FHIRError.forbidden("The audit trail is append-only: AuditEvents are written by the server alone.")
        }
        let grant = caller.write
        if grant.everything || grant.openTypes.contains(type) { return }
        let refusal = FHIRError.forbidden("You may not write \(type)/\(id): it is outside the records you may change.")
        guard grant.patients != .none, grant.compartmentTypes?.contains(type) ?? true, !patients.isEmpty else { throw refusal }
        // One patient per statement: look it up rather than list every patient of the grant.
        guard let allowed = grantSQL(caller.tenant).membership(grant.patients, column: "p.id", correlated: true) else { return }
        let distinct = Array(Set(patients))
        var granted = 0
        for patient in distinct {
            let found = try await database.raw("SELECT 1 AS ok FROM (SELECT CAST(\(bind: patient) AS TEXT) AS id) p WHERE " + allowed).first()
            if found != nil { granted += 1 }
        }
        guard granted == distinct.count else { throw refusal }
    }

    func authorizeWrite(_ write: PreparedWrite, caller: Caller, on database: any SQLDatabase) async throws {
        try await authorizeWrite(type: write.type, id: write.id, patients: write.compartments, caller: caller, on: database)
    }

    func authorize(_ write: PreparedWrite, in context: StoreContext) async throws {
        try await authorizeWrite(write, caller: context.caller, on: context.database)
    }

    /// Checks an existing resource before it is changed: 404 when the caller may not see it
    /// (its existence is not disclosed), 403 when they may see it but not change it.
    func authorizeChange(of current: CurrentRow, type: String, id: String, in context: StoreContext) async throws {
        let caller = context.caller
        if type == "AuditEvent", !caller.isAuditTrail {
            throw FHIRError.forbidden("The audit trail is append-only: AuditEvents are never changed or deleted.")
        }
        guard !caller.isUnrestricted, !current.deleted else { return }
        let sql = grantSQL(caller.tenant)
        for (grant, error) in [
            (caller.read, FHIRError.notFound("\(type)/\(id) does not exist.")),
            (caller.write, FHIRError.forbidden("You may read \(type)/\(id) but not change it.")),
        ] {
            guard let condition = sql.condition(grant, on: "r") else { continue }
            let row = try await context.database.raw("SELECT r.rid FROM fhir_resources r WHERE r.rid = \(bind: current.rid) AND " + condition).first()
            if row == nil { throw error }
        }
    }
}

extension FHIRStore {
    /// The SQL condition that `column` (holding Patient ids) names a patient whose resources of
    /// `type` the grant covers; nil when it covers them all. For modules that keep their own
    /// index of patient data (the DICOM archive) and filter it by the same rules as `/fhir`.
    public func patientCondition(_ grant: Grant, type: String, tenant: TenantID, column: String, correlated: Bool = false) -> SQLQueryString? {
        if grant.everything || grant.openTypes.contains(type) { return nil }
        guard grant.patients != .none, grant.compartmentTypes?.contains(type) ?? true else { return "1 = 0" }
        return grantSQL(tenant).membership(grant.patients, column: column, correlated: correlated)
    }

    /// Whether the caller may write resources of `type` in the records of every one of
    /// `patients` (the rule `/fhir` writes follow).
    public func mayWrite(type: String, patients: [String], caller: Caller) async throws -> Bool {
        do {
            try await database.read { database in
                try await self.authorizeWrite(type: type, id: "-", patients: patients, caller: caller, on: database)
            }
            return true
        } catch let error as FHIRError where error.status == 403 {
            return false
        }
    }
}
