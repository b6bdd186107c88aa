import Core
import FHIR
import Foundation
import Logging
import SQLKit
import Storage

/// One stored version of a resource.
public struct StoredResource: Sendable {
    let rid: Int64
    public let type: String
    public let id: String
    public let version: Int
    /// Milliseconds since 1970, UTC.
    public let lastUpdated: Int64
    public let isDeleted: Bool
    /// The resource as JSON bytes, with `id` and `meta` set; empty for a deletion.
    public let body: [UInt8]

    public var reference: String { "\(type)/\(id)" }
    public var versionedReference: String { "\(type)/\(id)/_history/\(version)" }
    /// Weak entity tag of the version (FHIR R4 §3.1.0.5.5).
    public var etag: String { "W/\"\(version)\"" }

    public func json() throws -> JSON {
        do {
            return try JSONParser.parse(body)
        } catch {
            throw FHIRError.internalError("Stored resource \(reference) could not be read back.")
        }
    }
}

/// The versioned FHIR resource store (DESIGN §3): every write is validated, stamped with
/// id, version and lastUpdated, sealed with the tenant's data key, indexed for search in the
/// same transaction, and kept in full history.
public final class FHIRStore: Sendable {
    public let database: any SQLStore
    let keyRing: KeyRing
    let clock: any WallClock
    let ids: any IDGenerator
    let registry: SearchParameterRegistry
    let indexer: ResourceIndexer
    let keys: SearchParameterKeys
    let logger: Logger
    /// Plain creates (with their audit records) written together (see GroupCommit).
    let creates = GroupCommit<(PreparedWrite, AuditRecord?), StoredResource>()
    /// Audit records of reads and failed requests, written together.
    let audits = GroupCommit<AuditRecord, Void>(maximumBatch: 500)
    let statistics = StatisticsKeeper()
    /// `http://host:port/fhir`: the base of `fullUrl`, `Location` and paging links.
    public let baseURL: String

    public static func open(
        database: any SQLStore, keyRing: KeyRing, clock: any WallClock, ids: any IDGenerator, baseURL: String,
        registry: SearchParameterRegistry = .r4, logger: Logger = .hygie("fhir-store")
    ) async throws -> FHIRStore {
        let keys = try await SearchParameterKeys.load(store: database, registry: registry)
        return FHIRStore(database: database, keyRing: keyRing, clock: clock, ids: ids, registry: registry, keys: keys, baseURL: baseURL, logger: logger)
    }

    init(
        database: any SQLStore, keyRing: KeyRing, clock: any WallClock, ids: any IDGenerator, registry: SearchParameterRegistry,
        keys: SearchParameterKeys, baseURL: String, logger: Logger
    ) {
        self.database = database
        self.keyRing = keyRing
        self.clock = clock
        self.ids = ids
        self.registry = registry
        self.keys = keys
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.indexer = ResourceIndexer(registry: registry, baseURL: self.baseURL)
        self.logger = logger
    }

    var dialect: SQLDialectKind { database.dialect }

    func now() -> Int64 {
        Int64((clock.now().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// Associated data of a sealed body: the row it belongs to. A body copied onto another
    /// resource, version or tenant does not open.
    static func sealingContext(tenant: TenantID, type: String, id: String, version: Int) -> Data {
        Data("\(tenant.rawValue)|\(type)|\(id)|\(version)".utf8)
    }

    static func seal(_ body: [UInt8], with key: KeyRing.DataKey, tenant: TenantID, type: String, id: String, version: Int) throws -> Data {
        try key.seal(body, context: Self.sealingContext(tenant: tenant, type: type, id: id, version: version))
    }

    func open(_ sealed: Data, keyID: String, tenant: TenantID, type: String, id: String, version: Int) async throws -> [UInt8] {
        let key = try await keyRing.key(id: keyID)
        return Array(try key.open(sealed, context: Self.sealingContext(tenant: tenant, type: type, id: id, version: version)))
    }

    /// Turns rows of (rid, resource_type, id, version, last_updated, deleted, key_id, body)
    /// into stored resources.
    func decode(_ rows: [any SQLRow], tenant: TenantID) async throws -> [StoredResource] {
        var resources: [StoredResource] = []
        resources.reserveCapacity(rows.count)
        for row in rows {
            let type = try row.decode(column: "resource_type", as: String.self)
            let id = try row.decode(column: "id", as: String.self)
            let version = try row.decode(column: "version", as: Int.self)
            let deleted = try row.decode(column: "deleted", as: Bool.self)
            var body: [UInt8] = []
            if !deleted, let keyID = try row.decode(column: "key_id", as: String?.self),
                let sealed = try row.decode(column: "body", as: Data?.self)
            {
                body = try await open(sealed, keyID: keyID, tenant: tenant, type: type, id: id, version: version)
            }
            resources.append(
                StoredResource(
                    rid: try row.decode(column: "rid", as: Int64.self), type: type, id: id, version: version,
                    lastUpdated: try row.decode(column: "last_updated", as: Int64.self), isDeleted: deleted, body: body))
        }
        return resources
    }

    /// Current versions of the given rows, in the order of `rids`.
    func loadCurrent(_ rids: [Int64], tenant: TenantID, on database: any SQLDatabase) async throws -> [StoredResource] {
        guard !rids.isEmpty else { return [] }
        var loaded: [Int64: StoredResource] = [:]
        for chunk in rids.chunks(of: 500) {
            // Row ids alone select the rows: with `tenant_id = ?` in the WHERE clause, SQLite
            // would range over the tenant's whole identity index. The tenant is checked here.
            let rows = try await database.raw(
                """
                SELECT r.rid, r.tenant_id, r.resource_type, r.id, r.version, r.last_updated, r.deleted, v.key_id, v.body
                FROM fhir_resources r JOIN fhir_versions v ON v.rid = r.rid AND v.version = r.version
                WHERE r.rid IN (\(binds: chunk))
                """
            ).all()
            let owned = try rows.filter { try $0.decode(column: "tenant_id", as: String.self) == tenant.rawValue }
            for resource in try await decode(owned, tenant: tenant) { loaded[resource.rid] = resource }
        }
        return rids.compactMap { loaded[$0] }
    }
}

