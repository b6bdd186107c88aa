import Core
import Crypto
import FHIR
import Foundation
import SQLKit
import Storage

/// The audit trail (DESIGN §6): every audited action is an AuditEvent resource, and the
/// AuditEvents of a tenant form a hash chain: entry n stores SHA-256(hash(n-1) ‖ digest of
/// AuditEvent n), so that editing, removing or reordering entries breaks the chain where it
/// happened. AuditEvents are append-only: nobody updates or deletes them through the store.
public enum AuditTrail {
    static let migration = Migration(
        id: 103, name: "audit hash chain",
        up: { ddl in
            [
                """
                CREATE TABLE audit_chain (
                    tenant_id TEXT NOT NULL, seq \(ddl.bigint) NOT NULL, event_id TEXT NOT NULL, digest TEXT NOT NULL, hash TEXT NOT NULL,
                    PRIMARY KEY (tenant_id, seq))
                """,
                "CREATE TABLE audit_heads (tenant_id TEXT PRIMARY KEY, seq \(ddl.bigint) NOT NULL, hash TEXT NOT NULL)",
            ]
        },
        down: { _ in ["DROP TABLE audit_heads", "DROP TABLE audit_chain"] })

    /// The hash the chain starts from.
    static let genesis = String(repeating: "0", count: 64)

    static func digest(_ body: [UInt8]) -> String { Hex.encode(SHA256.hash(data: body)) }

    static func link(_ previous: String, _ digest: String) -> String {
        Hex.encode(SHA256.hash(data: Data((previous + digest).utf8)))
    }
}

/// What `verifyAuditChain` found.
public struct AuditVerification: Sendable, Equatable {
    public var checked: Int
    /// The first entry that does not verify, and why.
    public var firstBroken: (seq: Int64, reason: String)?

    public static func == (lhs: AuditVerification, rhs: AuditVerification) -> Bool {
        lhs.checked == rhs.checked && lhs.firstBroken?.seq == rhs.firstBroken?.seq && lhs.firstBroken?.reason == rhs.firstBroken?.reason
    }
}

extension Caller {
    /// The audit trail itself: the only writer of AuditEvents.
    static func auditTrail(_ tenant: TenantID) -> Caller {
        var caller = Caller.system(tenant)
        caller.isAuditTrail = true
        return caller
    }
}

extension FHIRStore {
    /// Writes AuditEvents for `records` and links them into the chain, inside the caller's
    /// transaction: an action and its audit commit or fail together.
    func appendAudit(_ records: [AuditRecord], in context: StoreContext) async throws {
        guard !records.isEmpty else { return }
        let recorded = max(now(), 0)
        let instant = FHIRDateTime.instantString(epochMillis: recorded)
        let writes = records.map { prepare($0.resource(recorded: instant), type: "AuditEvent", id: ids.makeID(), version: 1, lastUpdated: recorded) }
        var trail = context
        trail.caller = .auditTrail(context.tenant)
        trail.audit = nil
        let stored = try await insertNew(writes, method: "POST", in: trail)
        let database = context.database
        let tenant = context.tenant.rawValue
        // The head row serialises appends across processes on PostgreSQL (held until commit).
        let lock = dialect == .postgres ? " FOR UPDATE" : ""
        let headQuery: SQLQueryString = "SELECT seq, hash FROM audit_heads WHERE tenant_id = \(bind: tenant)\(unsafeRaw: lock)"
        var found = try await database.raw(headQuery).first()
        if found == nil {
            // The tenant's first record starts its chain.
            try await database.raw("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (\(bind: tenant), 0, \(bind: AuditTrail.genesis)) ON CONFLICT DO NOTHING").run()
            found = try await database.raw(headQuery).first()
        }
        guard let head = found else { throw FHIRError.internalError("The audit chain has no head.") }
        var seq = try head.decode(column: "seq", as: Int64.self)
        var hash = try head.decode(column: "hash", as: String.self)
        var rows: [SQLQueryString] = []
        for event in stored {
            seq += 1
            let digest = AuditTrail.digest(event.body)
            hash = AuditTrail.link(hash, digest)
            rows.append("(\(bind: tenant), \(bind: seq), \(bind: event.id), \(bind: digest), \(bind: hash))")
        }
        for chunk in rows.chunks(of: 500) {
            try await database.raw("INSERT INTO audit_chain (tenant_id, seq, event_id, digest, hash) VALUES " + Array(chunk).joined(separator: ", ")).run()
        }
        try await database.raw("UPDATE audit_heads SET seq = \(bind: seq), hash = \(bind: hash) WHERE tenant_id = \(bind: tenant)").run()
    }

    /// Runs `body` in a write transaction and appends `records` to the audit trail in the same
    /// transaction: for services whose actions live in their own tables (a password change,
    /// an account update), so that the action and its audit commit or fail together.
    public func audited<T: Sendable>(
        _ records: [AuditRecord], tenant: TenantID, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await write(as: .auditTrail(tenant)) { context in
            let result = try await body(context.database)
            try await appendAudit(records, in: context)
            return result
        }
    }

    /// Records actions that are not writes of the store (reads, failures, sign-ins) in their
    /// own transaction, grouped with others arriving at the same time; returns once committed.
    public func record(_ record: AuditRecord, tenant: TenantID) async throws {
        try await audits.submit(record, tenant: tenant) { records, tenant in
            try await self.write(as: .auditTrail(tenant)) { context in
                try await self.appendAudit(records, in: context)
            }
            return records.map { _ in () }
        }
    }

    /// Walks the tenant's chain from the start, re-reading each AuditEvent, and reports the
    /// first entry whose AuditEvent, digest or link does not match (`hygie audit verify`).
    public func verifyAuditChain(tenant: TenantID, batch: Int = 1000) async throws -> AuditVerification {
        var previous = AuditTrail.genesis
        var expected: Int64 = 1
        var checked = 0
        while true {
            let rows = try await database.read { database in
                try await database.raw(
                    """
                    SELECT seq, event_id, digest, hash FROM audit_chain WHERE tenant_id = \(bind: tenant.rawValue) AND seq >= \(bind: expected)
                    ORDER BY seq LIMIT \(literal: batch)
                    """
                ).all()
            }
            if rows.isEmpty { break }
            for row in rows {
                let seq = try row.decode(column: "seq", as: Int64.self)
                func broken(_ reason: String) -> AuditVerification { AuditVerification(checked: checked, firstBroken: (seq, reason)) }
                guard seq == expected else { return AuditVerification(checked: checked, firstBroken: (expected, "entry \(expected) is missing")) }
                let id = try row.decode(column: "event_id", as: String.self)
                let digest = try row.decode(column: "digest", as: String.self)
                guard let event = try? await vread("AuditEvent", id, version: 1, as: .system(tenant)) else { return broken("AuditEvent/\(id) is missing") }
                guard AuditTrail.digest(event.body) == digest else { return broken("AuditEvent/\(id) was altered") }
                if try await database.read({ database in
                    try await database.raw("SELECT version FROM fhir_resources WHERE tenant_id = \(bind: tenant.rawValue) AND resource_type = 'AuditEvent' AND id = \(bind: id)").first()?
                        .decode(column: "version", as: Int.self)
                }) != 1 {
                    return broken("AuditEvent/\(id) was changed after it was written")
                }
                let link = AuditTrail.link(previous, digest)
                guard link == (try row.decode(column: "hash", as: String.self)) else { return broken("the link of entry \(seq) does not match") }
                previous = link
                expected += 1
                checked += 1
            }
        }
        let head = try await database.read { database in
            try await database.raw("SELECT seq, hash FROM audit_heads WHERE tenant_id = \(bind: tenant.rawValue)").first()
        }
        if let head, try head.decode(column: "seq", as: Int64.self) != expected - 1 || head.decode(column: "hash", as: String.self) != previous {
            return AuditVerification(checked: checked, firstBroken: (expected, "the chain ends before its recorded head"))
        }
        return AuditVerification(checked: checked, firstBroken: nil)
    }
}
