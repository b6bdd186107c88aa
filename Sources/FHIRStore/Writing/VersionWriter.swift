import Core
import Synchronization
import FHIR
import SQLKit
import Storage

/// The current row of a resource, read under a lock inside a write transaction.
struct CurrentRow: Sendable {
    let rid: Int64
    let version: Int
    let lastUpdated: Int64
    let deleted: Bool
    let indexTables: Int
}

/// What one interaction works on: a connection (inside BEGIN…COMMIT for writes) and the tenant.
struct StoreContext: Sendable {
    let database: any SQLDatabase
    var caller: Caller
    /// Collects what the interaction does, for the audit trail; nil when unaudited.
    var audit: AuditLog? = nil
    var tenant: TenantID { caller.tenant }
    /// The tenant's active data key, fetched before the transaction began: creating a key
    /// takes a write transaction of its own, which the single SQLite writer could not start
    /// while this one holds it.
    var sealingKey: KeyRing.DataKey? = nil
    /// Set inside a transaction Bundle: deletions are checked for remaining references once
    /// all of the Bundle's deletions are done, so that a record can be deleted with its parts.
    var deferredDeletions: DeferredDeletions? = nil
    /// Resources written by the transaction, for the statistics keeper.
    var written = WriteCounter()
}

/// A count shared by the copies of one context.
final class WriteCounter: Sendable {
    private let count = Mutex(0)

    func add(_ value: Int) { count.withLock { $0 += value } }
    var value: Int { count.withLock { $0 } }
}

/// Resources deleted so far in a transaction Bundle, awaiting the reference check.
final class DeferredDeletions: Sendable {
    private let deleted = Mutex<[(type: String, id: String)]>([])

    func record(_ type: String, _ id: String) {
        deleted.withLock { $0.append((type, id)) }
    }

    var all: [(type: String, id: String)] { deleted.withLock { $0 } }
}

extension FHIRStore {
    /// The current row of `type/id`, locked until the transaction ends on PostgreSQL (SQLite
    /// transactions already run one at a time), so that version numbers never repeat or skip
    /// across processes.
    func currentRow(_ type: String, _ id: String, in context: StoreContext) async throws -> CurrentRow? {
        let lock = dialect == .postgres ? " FOR UPDATE" : ""
        let row = try await context.database.raw(
            """
            SELECT rid, version, last_updated, deleted, index_tables FROM fhir_resources
            WHERE tenant_id = \(bind: context.tenant.rawValue) AND resource_type = \(bind: type) AND id = \(bind: id)\(unsafeRaw: lock)
            """
        ).first()
        guard let row else { return nil }
        let current = CurrentRow(
            rid: try row.decode(column: "rid", as: Int64.self), version: try row.decode(column: "version", as: Int.self),
            lastUpdated: try row.decode(column: "last_updated", as: Int64.self), deleted: try row.decode(column: "deleted", as: Bool.self),
            indexTables: try row.decode(column: "index_tables", as: Int.self))
        try await authorizeChange(of: current, type: type, id: id, in: context)
        return current
    }

    /// Stores brand-new resources (version 1) in a few multi-row statements.
    func insertNew(_ writes: [PreparedWrite], method: String, in context: StoreContext) async throws -> [StoredResource] {
        guard !writes.isEmpty else { return [] }
        for write in writes { try await authorize(write, in: context) }
        var rids: [String: Int64] = [:]
        for chunk in writes.chunks(of: 500) {
            var insert = SQLQueryString(
                "INSERT INTO fhir_resources (tenant_id, resource_type, id, version, last_updated, deleted, index_tables) VALUES ")
            insert += chunk.map {
                SQLQueryString(
                    "(\(bind: context.tenant.rawValue), \(bind: $0.type), \(bind: $0.id), \(bind: $0.version), \(bind: $0.lastUpdated), \(bind: false), \(bind: $0.indexTables))"
                )
            }.joined(separator: ", ")
            insert += " RETURNING rid, resource_type, id"
            for row in try await context.database.raw(insert).all() {
                let key = "\(try row.decode(column: "resource_type", as: String.self))/\(try row.decode(column: "id", as: String.self))"
                rids[key] = try row.decode(column: "rid", as: Int64.self)
            }
        }
        let placed = try writes.map { write -> (rid: Int64, write: PreparedWrite) in
            guard let rid = rids["\(write.type)/\(write.id)"] else { throw FHIRError.internalError() }
            return (rid, write)
        }
        try await insertVersions(placed, method: method, in: context)
        try await writeIndex(placed, on: context.database)
        context.written.add(placed.count)
        return placed.map { StoredResource(rid: $0.rid, type: $0.write.type, id: $0.write.id, version: $0.write.version, lastUpdated: $0.write.lastUpdated, isDeleted: false, body: $0.write.body) }
    }

    /// Stores a new version over the current row (which must be locked by `currentRow`).
    func storeVersion(_ write: PreparedWrite, over current: CurrentRow, method: String, in context: StoreContext) async throws -> StoredResource {
        try await authorize(write, in: context)
        let updated = try await context.database.raw(
            """
            UPDATE fhir_resources SET version = \(bind: write.version), last_updated = \(bind: write.lastUpdated),
                deleted = \(bind: false), index_tables = \(bind: write.indexTables)
            WHERE rid = \(bind: current.rid) AND version = \(bind: current.version) RETURNING rid
            """
        ).first()
        guard updated != nil else { throw StorageError.serializationFailure }
        try await insertVersions([(current.rid, write)], method: method, in: context)
        try await clearIndex(rid: current.rid, tables: current.indexTables, on: context.database)
        try await writeIndex([(current.rid, write)], on: context.database)
        return StoredResource(rid: current.rid, type: write.type, id: write.id, version: write.version, lastUpdated: write.lastUpdated, isDeleted: false, body: write.body)
    }

    /// Records a deletion as a new version without body, and drops the resource from the index.
    func storeDeletion(_ type: String, _ id: String, over current: CurrentRow, in context: StoreContext) async throws -> StoredResource {
        let version = current.version + 1
        let lastUpdated = max(now(), current.lastUpdated)
        let updated = try await context.database.raw(
            """
            UPDATE fhir_resources SET version = \(bind: version), last_updated = \(bind: lastUpdated), deleted = \(bind: true), index_tables = \(bind: 0)
            WHERE rid = \(bind: current.rid) AND version = \(bind: current.version) RETURNING rid
            """
        ).first()
        guard updated != nil else { throw StorageError.serializationFailure }
        try await context.database.raw(
            """
            INSERT INTO fhir_versions (rid, tenant_id, resource_type, id, version, last_updated, method, deleted, key_id, body)
            VALUES (\(bind: current.rid), \(bind: context.tenant.rawValue), \(bind: type), \(bind: id), \(bind: version), \(bind: lastUpdated), \(bind: "DELETE"), \(bind: true), NULL, NULL)
            """
        ).run()
        try await clearIndex(rid: current.rid, tables: current.indexTables, on: context.database)
        return StoredResource(rid: current.rid, type: type, id: id, version: version, lastUpdated: lastUpdated, isDeleted: true, body: [])
    }

    func insertVersions(_ items: [(rid: Int64, write: PreparedWrite)], method: String, in context: StoreContext) async throws {
        guard let key = context.sealingKey else { throw FHIRError.internalError("A write began without its sealing key.") }
        var rows: [SQLQueryString] = []
        for (rid, write) in items {
            let sealed = try Self.seal(write.body, with: key, tenant: context.tenant, type: write.type, id: write.id, version: write.version)
            rows.append(
                """
                (\(bind: rid), \(bind: context.tenant.rawValue), \(bind: write.type), \(bind: write.id), \(bind: write.version), \(bind: write.lastUpdated), \(bind: method), \(bind: false), \(bind: key.id), \(bind: sealed))
                """)
        }
        for chunk in rows.chunks(of: 500) {
            var insert = SQLQueryString(
                "INSERT INTO fhir_versions (rid, tenant_id, resource_type, id, version, last_updated, method, deleted, key_id, body) VALUES ")
            insert += Array(chunk).joined(separator: ", ")
            try await context.database.raw(insert).run()
        }
    }
}
