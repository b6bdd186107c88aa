import Core
import FHIR
import SQLKit
import Storage

extension FHIRStore {
    /// Runs one write transaction, again if a concurrent writer won a race on a unique key
    /// (two clients creating the same id) or the engine asks for a retry.
    /// With `audit`, the records the body collects are appended to the audit trail in the
    /// same transaction.
    func write<T: Sendable>(as caller: Caller, audit: AuditLog? = nil, _ body: (StoreContext) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                let written = WriteCounter()
                let key = try await keyRing.activeKey(for: caller.tenant)
                _ = audit?.take()  // nothing from a failed attempt
                let result = try await database.transaction { database in
                    let context = StoreContext(database: database, caller: caller, audit: audit, sealingKey: key, written: written)
                    let result = try await body(context)
                    if let audit { try await appendAudit(audit.take(), in: context) }
                    return result
                }
                if statistics.recordWrites(written.value) {
                    await statistics.analyze(self.database)
                }
                return result
            } catch {
                attempt += 1
                let kind = StorageError.classify(error)
                guard attempt < 4, kind == .uniqueViolation || kind == .serializationFailure else { throw error }
            }
        }
    }

    /// Checks a body for a write to `type`: a resource of that type, valid against R4.
    public func validateForWrite(_ resource: JSON, type: String) throws(FHIRError) {
        guard case .object(let object) = resource else {
            throw .invalid("The body must be a JSON object holding a \(type) resource.")
        }
        guard let declared = object["resourceType"]?.stringValue else {
            throw .invalid("The resource has no resourceType; expected \"\(type)\".")
        }
        guard declared == type else {
            throw .invalid("The resource is a \(declared) but the URL names \(type).")
        }
        let issues = ResourceValidator(model: registry.model).validate(resource, expectedType: type)
        if !issues.isEmpty { throw FHIRError(status: 400, issues: issues) }
    }

    /// Serialises conditional operations on one resource type (PostgreSQL advisory lock, held
    /// until commit), so that two processes cannot both see "no match" and both create.
    func lockConditional(_ type: String, in context: StoreContext) async throws {
        guard dialect == .postgres else { return }
        try await context.database.raw("SELECT pg_advisory_xact_lock(\(bind: Self.lockKey("\(context.tenant.rawValue)|\(type)")))").run()
    }

    static func lockKey(_ text: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    // MARK: create

    /// `POST [type]`, conditional with `If-None-Exist` (FHIR R4 §3.1.0.8.1).
    public func create(_ resource: JSON, type: String, ifNoneExist: [(String, String)]? = nil, as caller: Caller) async throws -> WriteOutcome {
        try await create(resource, type: type, ifNoneExist: ifNoneExist, as: caller, audit: nil)
    }

    func create(_ resource: JSON, type: String, ifNoneExist: [(String, String)]?, as caller: Caller, audit: AuditLog?) async throws -> WriteOutcome {
        try validateForWrite(resource, type: type)
        guard ifNoneExist != nil else {
            let write = prepare(resource, type: type, id: ids.makeID(), version: 1, lastUpdated: now())
            if !caller.write.everything || type == "AuditEvent" {
                try await database.read { database in try await authorizeWrite(write, caller: caller, on: database) }
            }
            let record = audit.map { log in
                AuditRecord(
                    agent: log.agent, kind: .rest("create"), action: .create, entities: ["\(type)/\(write.id)"], patients: write.compartments)
            }
            // Authorised here: the batch is written as the server, with other callers' creates
            // and the audit records of all of them.
            let stored = try await creates.submit((write, record), tenant: caller.tenant) { items, tenant in
                try await self.write(as: .system(tenant)) { context in
                    let stored = try await self.insertNew(items.map(\.0), method: "POST", in: context)
                    try await self.appendAudit(items.compactMap(\.1), in: context)
                    return stored
                }
            }
            return WriteOutcome(kind: .created, resource: stored)
        }
        return try await write(as: caller, audit: audit) { context in
            let outcome = try await create(resource, type: type, ifNoneExist: ifNoneExist, id: nil, in: context)
            if let log = context.audit, let stored = outcome.resource {
                let created = outcome.kind == .created
                log.add(
                    AuditRecord(
                        agent: log.agent, kind: .rest(created ? "create" : "search-type"), action: created ? .create : .read,
                        entities: [stored.reference], patients: try await patients(of: [stored.rid], on: context.database)))
            }
            return outcome
        }
    }

    func create(_ resource: JSON, type: String, ifNoneExist: [(String, String)]?, id: String?, in context: StoreContext) async throws -> WriteOutcome {
        if let criteria = ifNoneExist {
            try await lockConditional(type, in: context)
            let matches = try await matching(type, criteria: criteria, limit: 2, caller: context.caller, on: context.database)
            if matches.count > 1 {
                throw FHIRError(status: 412, .multipleMatches, "If-None-Exist matches more than one \(type); make the criteria more selective.")
            }
            if let match = matches.first {
                let existing = try await loadCurrent([match.rid], tenant: context.tenant, on: context.database)
                return WriteOutcome(kind: .matchedExisting, resource: existing.first)
            }
        }
        let write = prepare(resource, type: type, id: id ?? ids.makeID(), version: 1, lastUpdated: now())
        let stored = try await insertNew([write], method: "POST", in: context)
        return WriteOutcome(kind: .created, resource: stored.first)
    }

    // MARK: update

    /// `PUT [type]/[id]`: a new version, or the resource itself when the id is new
    /// (update as create, FHIR R4 §3.1.0.4.1). `ifMatch` is the version the client read.
    public func update(_ resource: JSON, type: String, id: String, ifMatch: Int? = nil, as caller: Caller) async throws -> WriteOutcome {
        try validateForWrite(resource, type: type)
        guard resource["id"]?.stringValue == id else {
            throw FHIRError.invalid("The resource id must be present in the body and equal the id in the URL (\(id)).")
        }
        return try await write(as: caller) { context in
            try await update(resource, type: type, id: id, ifMatch: ifMatch, method: "PUT", in: context)
        }
    }

    func update(_ resource: JSON, type: String, id: String, ifMatch: Int?, method: String, in context: StoreContext) async throws -> WriteOutcome {
        let current = try await currentRow(type, id, in: context)
        if let ifMatch, current?.version != ifMatch {
            throw FHIRError.preconditionFailed(
                "If-Match names version \(ifMatch) but the current version of \(type)/\(id) is \(current.map { String($0.version) } ?? "none"); read it again.")
        }
        guard let current else {
            let write = prepare(resource, type: type, id: id, version: 1, lastUpdated: now())
            return WriteOutcome(kind: .created, resource: try await insertNew([write], method: method, in: context).first)
        }
        let write = prepare(resource, type: type, id: id, version: current.version + 1, lastUpdated: max(now(), current.lastUpdated))
        let stored = try await storeVersion(write, over: current, method: method, in: context)
        return WriteOutcome(kind: current.deleted ? .created : .updated, resource: stored)
    }

    /// `PUT [type]?criteria` (FHIR R4 §3.1.0.8.2).
    public func conditionalUpdate(_ resource: JSON, type: String, criteria: [(String, String)], ifMatch: Int? = nil, as caller: Caller) async throws -> WriteOutcome {
        try validateForWrite(resource, type: type)
        return try await write(as: caller) { context in
            try await conditionalUpdate(resource, type: type, criteria: criteria, ifMatch: ifMatch, in: context)
        }
    }

    func conditionalUpdate(_ resource: JSON, type: String, criteria: [(String, String)], ifMatch: Int?, in context: StoreContext) async throws -> WriteOutcome {
        try await lockConditional(type, in: context)
        let matches = try await matching(type, criteria: criteria, limit: 2, caller: context.caller, on: context.database)
        let bodyID = resource["id"]?.stringValue
        switch matches.count {
        case 0:
            if let bodyID {
                return try await update(resource, type: type, id: bodyID, ifMatch: ifMatch, method: "PUT", in: context)
            }
            return try await create(resource, type: type, ifNoneExist: nil, id: nil, in: context)
        case 1:
            let match = matches[0]
            if let bodyID, bodyID != match.id {
                throw FHIRError.invalid("The body's id (\(bodyID)) is not the id of the matching \(type) (\(match.id)).")
            }
            var object = resource.objectValue ?? JSONObject()
            object["id"] = .string(match.id)
            return try await update(.object(object), type: type, id: match.id, ifMatch: ifMatch, method: "PUT", in: context)
        default:
            throw FHIRError(status: 412, .multipleMatches, "The criteria match more than one \(type); make them more selective.")
        }
    }

    // MARK: patch

    /// `PATCH [type]/[id]` with a JSON Patch document (FHIR R4 §3.1.0.6).
    public func patch(_ type: String, _ id: String, patch: JSONPatch, ifMatch: Int? = nil, as caller: Caller) async throws -> WriteOutcome {
        try await write(as: caller) { context in
            try await applyPatch(type, id, patch: patch, ifMatch: ifMatch, in: context)
        }
    }

    func applyPatch(_ type: String, _ id: String, patch: JSONPatch, ifMatch: Int?, in context: StoreContext) async throws -> WriteOutcome {
        guard let current = try await currentRow(type, id, in: context) else { throw FHIRError.notFound("\(type)/\(id) does not exist.") }
        guard !current.deleted else { throw FHIRError.gone("\(type)/\(id) was deleted.") }
        if let ifMatch, current.version != ifMatch {
            throw FHIRError.preconditionFailed("If-Match names version \(ifMatch) but the current version of \(type)/\(id) is \(current.version).")
        }
        guard let stored = try await loadCurrent([current.rid], tenant: context.tenant, on: context.database).first else {
            throw FHIRError.notFound("\(type)/\(id) does not exist.")
        }
        let patched = try patch.apply(to: try stored.json())
        guard patched["resourceType"]?.stringValue == type, patched["id"]?.stringValue == id else {
            throw FHIRError.unprocessable("A patch may not change the resourceType or the id.")
        }
        let issues = ResourceValidator(model: registry.model).validate(patched, expectedType: type)
        if !issues.isEmpty { throw FHIRError(status: 422, issues: issues) }
        let write = prepare(patched, type: type, id: id, version: current.version + 1, lastUpdated: max(now(), current.lastUpdated))
        return WriteOutcome(kind: .updated, resource: try await storeVersion(write, over: current, method: "PATCH", in: context))
    }

    /// `PATCH [type]?criteria`: patches the one matching resource.
    public func conditionalPatch(_ type: String, criteria: [(String, String)], patch: JSONPatch, ifMatch: Int? = nil, as caller: Caller) async throws -> WriteOutcome {
        try await write(as: caller) { context in
            try await conditionalPatch(type, criteria: criteria, patch: patch, ifMatch: ifMatch, in: context)
        }
    }

    func conditionalPatch(_ type: String, criteria: [(String, String)], patch: JSONPatch, ifMatch: Int?, in context: StoreContext) async throws -> WriteOutcome {
        try await lockConditional(type, in: context)
        let matches = try await matching(type, criteria: criteria, limit: 2, caller: context.caller, on: context.database)
        guard matches.count < 2 else { throw FHIRError(status: 412, .multipleMatches, "The criteria match more than one \(type).") }
        guard let match = matches.first else { throw FHIRError.notFound("No \(type) matches the criteria.") }
        return try await applyPatch(type, match.id, patch: patch, ifMatch: ifMatch, in: context)
    }

    // MARK: delete

    /// `DELETE [type]/[id]`: a logical delete, kept in history; later reads answer 410.
    public func delete(_ type: String, _ id: String, ifMatch: Int? = nil, as caller: Caller) async throws -> WriteOutcome {
        try await write(as: caller) { context in
            try await delete(type, id, ifMatch: ifMatch, in: context)
        }
    }

    func delete(_ type: String, _ id: String, ifMatch: Int?, in context: StoreContext) async throws -> WriteOutcome {
        let current = try await currentRow(type, id, in: context)
        if let ifMatch, current?.version != ifMatch {
            throw FHIRError.preconditionFailed("If-Match names version \(ifMatch) but \(type)/\(id) is at \(current.map { String($0.version) } ?? "no version").")
        }
        guard let current, !current.deleted else { return WriteOutcome(kind: .nothingToDelete, resource: nil) }
        let deletion = try await storeDeletion(type, id, over: current, in: context)
        if let deferred = context.deferredDeletions {
            deferred.record(type, id)
        } else {
            try await checkNoReferences(to: type, id, in: context)
        }
        return WriteOutcome(kind: .deleted, resource: deletion)
    }

    /// Refuses to leave live resources pointing at a deleted one (409): a patient with
    /// observations is not deleted from under them. AuditEvents do not count: they record
    /// what happened to the resource, and outlive it. Runs after the deletion in the same
    /// transaction, so the deleted resource's own references no longer count.
    func checkNoReferences(to type: String, _ id: String, in context: StoreContext) async throws {
        let rows = try await context.database.raw(
            """
            SELECT DISTINCT s.resource_type, s.id FROM fhir_idx_reference x CROSS JOIN fhir_resources s
            WHERE x.target_id = \(bind: id) AND x.target_type = \(bind: type) AND s.rid = x.rid
            AND s.tenant_id = \(bind: context.tenant.rawValue) AND s.deleted = \(bind: false) AND s.resource_type <> 'AuditEvent' LIMIT 4
            """
        ).all()
        guard !rows.isEmpty else { return }
        let referrers = try rows.prefix(3).map { "\(try $0.decode(column: "resource_type", as: String.self))/\(try $0.decode(column: "id", as: String.self))" }
        throw FHIRError(
            status: 409, .conflict,
            "\(type)/\(id) is still referenced by \(referrers.joined(separator: ", "))\(rows.count > 3 ? " and others" : ""); delete or update those first.")
    }

    /// `DELETE [type]?criteria` deletes the one matching resource (single mode: more than one
    /// match is refused with 412, FHIR R4 §3.1.0.8.3).
    public func conditionalDelete(_ type: String, criteria: [(String, String)], as caller: Caller) async throws -> WriteOutcome {
        try await write(as: caller) { context in
            try await conditionalDelete(type, criteria: criteria, in: context)
        }
    }

    func conditionalDelete(_ type: String, criteria: [(String, String)], in context: StoreContext) async throws -> WriteOutcome {
        try await lockConditional(type, in: context)
        let matches = try await matching(type, criteria: criteria, limit: 2, caller: context.caller, on: context.database)
        guard matches.count < 2 else {
            throw FHIRError(status: 412, .multipleMatches, "The criteria match more than one \(type); conditional delete removes one resource at a time.")
        }
        guard let match = matches.first else { return WriteOutcome(kind: .nothingToDelete, resource: nil) }
        return try await delete(type, match.id, ifMatch: nil, in: context)
    }
}
