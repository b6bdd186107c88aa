import Core
import FHIR
import SQLKit
import Storage

extension FHIRStore {
    /// `Patient/[id]/$everything` (FHIR R4 Patient-everything): the patient, every resource in
    /// its compartment, and the resources those refer to that are in no patient's compartment
    /// (practitioners, organizations, locations, medications…), paged by row id.
    public func everything(patient id: String, since: Int64?, types: [String], count: Int, cursor: String?, as caller: Caller) async throws -> SearchResult {
        let tenant = caller.tenant
        return try await database.read { database in
            let patient = try await read("Patient", id, caller: caller, on: database)
            // The compartment drives (see SearchSQLBuilder.filter for why a derived table).
            let members: SQLQueryString = """
                (SELECT c.rid AS rid FROM fhir_compartments c WHERE c.compartment_type = 'Patient' AND c.compartment_id = \(bind: id)
                 UNION SELECT \(bind: patient.rid) AS rid) d CROSS JOIN fhir_resources r
                """
            // The record, not the trail of who looked at it: AuditEvents (in the Patient
            // compartment in R4) are searched as such, not returned here.
            var conditions: SQLQueryString =
                "r.rid = d.rid AND r.tenant_id = \(bind: tenant.rawValue) AND r.deleted = \(bind: false) AND r.resource_type <> 'AuditEvent'"
            if !types.isEmpty { conditions += " AND r.resource_type IN (\(binds: types))" }
            if let since { conditions += " AND r.last_updated >= \(bind: since)" }
            conditions += visibility(caller, on: "r")
            let filter = SearchFilter(from: members, conditions: conditions)
            var page = conditions
            if let cursor {
                guard let after = Int64(cursor) else { throw FHIRError.invalid("The paging cursor is not valid; start again from the first page.") }
                page += " AND r.rid > \(bind: after)"
            }
            let rows = try await database.raw("SELECT r.rid FROM \(members) WHERE \(page) ORDER BY r.rid LIMIT \(literal: count + 1)").all()
            var rids = try rows.map { try $0.decode(column: "rid", as: Int64.self) }
            var result = SearchResult()
            if rids.count > count {
                rids.removeLast()
                result.nextCursor = String(rids[rids.count - 1])
            }
            result.matches = try await loadCurrent(rids, tenant: tenant, on: database)
            result.total = try await self.count(filter, on: database)
            let outside = registry.model.resourceTypes.filter { PatientCompartment.parameters[$0] == nil && $0 != "Patient" }
                .filter { types.isEmpty || types.contains($0) }
            if !rids.isEmpty, !outside.isEmpty {
                let referenced = try await database.raw(
                    """
                    SELECT DISTINCT t.rid FROM fhir_idx_reference x CROSS JOIN fhir_resources t
                    WHERE x.rid IN (\(binds: rids)) AND t.tenant_id = \(bind: tenant.rawValue) AND t.resource_type = x.target_type
                    AND t.id = x.target_id AND t.deleted = \(bind: false) AND t.resource_type IN (\(binds: outside))
                    """ + visibility(caller, on: "t")
                ).all().map { try $0.decode(column: "rid", as: Int64.self) }
                result.included = try await loadCurrent(referenced, tenant: tenant, on: database)
            }
            return result
        }
    }
}
