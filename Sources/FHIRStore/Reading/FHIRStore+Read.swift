import Core
import FHIR
import SQLKit
import Storage

extension FHIRStore {
    /// The current version of `type/id`: 404 when it never existed, 410 when deleted
    /// (FHIR R4 §3.1.0.2).
    public func read(_ type: String, _ id: String, as caller: Caller) async throws -> StoredResource {
        try await database.read { database in
            try await read(type, id, caller: caller, on: database)
        }
    }

    /// A resource the caller may not see answers 404, as if it did not exist.
    func read(_ type: String, _ id: String, caller: Caller, on database: any SQLDatabase) async throws -> StoredResource {
        let tenant = caller.tenant
        let rows = try await database.raw(
            """
            SELECT r.rid, r.resource_type, r.id, r.version, r.last_updated, r.deleted, v.key_id, v.body
            FROM fhir_resources r JOIN fhir_versions v ON v.rid = r.rid AND v.version = r.version
            WHERE r.tenant_id = \(bind: tenant.rawValue) AND r.resource_type = \(bind: type) AND r.id = \(bind: id)
            """ + visibility(caller, on: "r")
        ).all()
        guard let resource = try await decode(rows, tenant: tenant).first else {
            throw FHIRError.notFound("\(type)/\(id) does not exist.")
        }
        if resource.isDeleted {
            throw FHIRError.gone("\(type)/\(id) was deleted (version \(resource.version)).")
        }
        return resource
    }

    /// One version of `type/id` (FHIR R4 §3.1.0.3).
    public func vread(_ type: String, _ id: String, version: Int, as caller: Caller) async throws -> StoredResource {
        try await database.read { database in
            try await vread(type, id, version: version, caller: caller, on: database)
        }
    }

    /// Past versions are visible to whoever may see the resource as it is now.
    func vread(_ type: String, _ id: String, version: Int, caller: Caller, on database: any SQLDatabase) async throws -> StoredResource {
        let tenant = caller.tenant
        let rows = try await database.raw(
            """
            SELECT v.rid, v.resource_type, v.id, v.version, v.last_updated, v.deleted, v.key_id, v.body
            FROM fhir_resources r JOIN fhir_versions v ON v.rid = r.rid
            WHERE r.tenant_id = \(bind: tenant.rawValue) AND r.resource_type = \(bind: type) AND r.id = \(bind: id) AND v.version = \(bind: version)
            """ + visibility(caller, on: "r")
        ).all()
        guard let resource = try await decode(rows, tenant: tenant).first else {
            throw FHIRError.notFound("\(type)/\(id) has no version \(version).")
        }
        if resource.isDeleted {
            throw FHIRError.gone("Version \(version) of \(type)/\(id) is its deletion.")
        }
        return resource
    }

    /// ` AND <condition>` restricting rows aliased `resource` to what the caller may read.
    func visibility(_ caller: Caller, on resource: String) -> SQLQueryString {
        guard let condition = grantSQL(caller.tenant).condition(caller.read, on: resource) else { return "" }
        return " AND " + condition
    }
}
