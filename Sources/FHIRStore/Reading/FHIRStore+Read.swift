import Core
import FHIR
import SQLKit
import Storage

extension FHIRStore {
    /// The current version of `type/id`: 404 when it never existed, 410 when deleted
    /// (FHIR R4 §3.1.0.2).
    public func read(_ type: String, _ id: String, tenant: TenantID) async throws -> StoredResource {
        try await database.read { database in
            try await read(type, id, tenant: tenant, on: database)
        }
    }

    func read(_ type: String, _ id: String, tenant: TenantID, on database: any SQLDatabase) async throws -> StoredResource {
        let rows = try await database.raw(
            """
            SELECT r.rid, r.resource_type, r.id, r.version, r.last_updated, r.deleted, v.key_id, v.body
            FROM fhir_resources r JOIN fhir_versions v ON v.rid = r.rid AND v.version = r.version
            WHERE r.tenant_id = \(bind: tenant.rawValue) AND r.resource_type = \(bind: type) AND r.id = \(bind: id)
            """
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
    public func vread(_ type: String, _ id: String, version: Int, tenant: TenantID) async throws -> StoredResource {
        try await database.read { database in
            try await vread(type, id, version: version, tenant: tenant, on: database)
        }
    }

    func vread(_ type: String, _ id: String, version: Int, tenant: TenantID, on database: any SQLDatabase) async throws -> StoredResource {
        let rows = try await database.raw(
            """
            SELECT v.rid, v.resource_type, v.id, v.version, v.last_updated, v.deleted, v.key_id, v.body
            FROM fhir_resources r JOIN fhir_versions v ON v.rid = r.rid
            WHERE r.tenant_id = \(bind: tenant.rawValue) AND r.resource_type = \(bind: type) AND r.id = \(bind: id) AND v.version = \(bind: version)
            """
        ).all()
        guard let resource = try await decode(rows, tenant: tenant).first else {
            throw FHIRError.notFound("\(type)/\(id) has no version \(version).")
        }
        if resource.isDeleted {
            throw FHIRError.gone("Version \(version) of \(type)/\(id) is its deletion.")
        }
        return resource
    }
}
