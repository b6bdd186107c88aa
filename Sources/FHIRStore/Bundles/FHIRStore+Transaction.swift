import Core
import FHIR
import Foundation
import SQLKit
import Storage

/// Transaction Bundles (FHIR R4 §3.1.0.11.2): all entries or none, processed in the order the
/// standard prescribes, with `urn:uuid:` and conditional references resolved.
extension FHIRStore {
    func transaction(
        _ entries: [PlannedEntry], as caller: Caller, preference: ReturnPreference,
        alongside: (@Sendable (any SQLDatabase) async throws -> Void)? = nil, audit: AuditLog? = nil
    ) async throws -> FHIRResponse {
        // A Bundle without conditional parts resolves without the database: its ids, its
        // references and the CPU-heavy preparation of its new resources are done before the
        // write lock is taken, so that concurrent Bundles overlap on all cores.
        var early: ResolvedTransaction?
        if !entries.contains(where: needsDatabase) {
            var resolved = try await resolve(entries, context: nil)
            resolved.creations = await prepareCreations(resolved)
            early = resolved
        }
        return try await write(as: caller, audit: audit) { context in
            var context = context
            context.deferredDeletions = DeferredDeletions()
            var resolved: ResolvedTransaction
            if let early {
                resolved = early
            } else {
                resolved = try await resolve(entries, context: context)
            }
            var creations = resolved.creations ?? []
            if resolved.creations == nil { creations = await prepareCreations(resolved) }
            var responses: [Int: FHIRResponse] = [:]

            // 3. Process in the order R4 prescribes: DELETE, POST, PUT/PATCH, GET/HEAD.
            for phase in [["DELETE"], ["POST"], ["PUT", "PATCH"], ["GET", "HEAD"]] {
                if phase == ["POST"] {
                    // New resources do not depend on each other (their ids are assigned): one
                    // batch of multi-row inserts instead of a few statements per entry.
                    for (index, found) in resolved.existing {
                        responses[index] = writeResponse(WriteOutcome(kind: .matchedExisting, resource: found))
                    }
                    let stored = try await insertNew(creations.map(\.write), method: "POST", in: context)
                    for (creation, resource) in zip(creations, stored) {
                        responses[creation.index] = writeResponse(WriteOutcome(kind: .created, resource: resource))
                        if let log = context.audit {
                            log.add(
                                AuditRecord(
                                    agent: log.agent, kind: .rest("create"), action: .create, entities: [resource.reference],
                                    patients: creation.write.compartments))
                        }
                    }
                    continue
                }
                for entry in resolved.entries where phase.contains(entry.request.method) {
                    do {
                        if entry.request.method == "DELETE", case .type = entry.request.target {
                            responses[entry.index] = writeResponse(WriteOutcome(kind: .nothingToDelete, resource: nil))
                        } else {
                            responses[entry.index] = try await execute(entry.request, in: context)
                        }
                    } catch let error as FHIRError {
                        throw FHIRError(status: error.status, issues: error.issues.map { Self.located($0, entry.path) }, headers: error.headers)
                    }
                }
                if phase == ["DELETE"], let deleted = context.deferredDeletions?.all {
                    context.deferredDeletions = nil
                    for (type, id) in deleted { try await checkNoReferences(to: type, id, in: context) }
                }
            }
            resolved.creations = nil
            try await alongside?(context.database)
            let results = resolved.entries.map { entry in
                Self.responseEntry(responses[entry.index] ?? FHIRResponse(status: 200), preference: preference, baseURL: baseURL)
            }
            return FHIRResponse(status: 200, json: builder().shell(type: "transaction-response", total: nil, links: [], entries: results))
        }
    }

    /// A transaction after its first two steps: what each entry targets, the ids new resources
    /// get, resources found by conditional creates, and (once prepared) the new resources.
    struct ResolvedTransaction: Sendable {
        var entries: [PlannedEntry]
        var assignedIDs: [Int: String] = [:]
        var existing: [Int: StoredResource] = [:]
        var creations: [(index: Int, write: PreparedWrite)]?
    }

    /// Whether resolving an entry needs database lookups (conditional create, update, patch or
    /// delete, or a conditional reference in its resource).
    func needsDatabase(_ entry: PlannedEntry) -> Bool {
        if entry.request.ifNoneExist != nil { return true }
        if case .type = entry.request.target, ["PUT", "PATCH", "DELETE"].contains(entry.request.method) { return true }
        if case .resource(let resource) = entry.request.body { return containsConditionalReference(resource) }
        return false
    }

    func containsConditionalReference(_ value: JSON) -> Bool {
        switch value {
        case .object(let object):
            for (key, child) in object {
                if key == "reference", case .string(let reference) = child, ReferenceValue.isConditional(reference, model: registry.model) { return true }
                if containsConditionalReference(child) { return true }
            }
            return false
        case .array(let items):
            return items.contains { containsConditionalReference($0) }
        default:
            return false
        }
    }

    /// Steps 1 and 2 of FHIR R4 §3.1.0.11.2: resolve what each entry writes and the ids new
    /// resources get, then point references at them. `context` is nil when no entry needs the
    /// database (see `needsDatabase`).
    func resolve(_ planned: [PlannedEntry], context: StoreContext?) async throws -> ResolvedTransaction {
        var resolved = ResolvedTransaction(entries: planned)
        var references: [String: String] = [:]
        var written: [String: Int] = [:]

        func claim(_ reference: String, _ entry: PlannedEntry) throws(FHIRError) {
            if let other = written[reference] {
                throw .invalid("\(entry.path) and Bundle.entry[\(other)] both change \(reference); a transaction changes each resource once.")
            }
            written[reference] = entry.index
        }
        func database() throws -> StoreContext {
            guard let context else { throw FHIRError.internalError("A conditional entry was resolved without the database.") }
            return context
        }

        for position in resolved.entries.indices {
            var entry = resolved.entries[position]
            do {
                switch (entry.request.method, entry.request.target) {
                case ("POST", .type(let type)):
                    if let criteria = entry.request.ifNoneExist {
                        let context = try database()
                        try await lockConditional(type, in: context)
                        let matches = try await matching(type, criteria: criteria, limit: 2, caller: context.caller, on: context.database)
                        guard matches.count < 2 else {
                            throw FHIRError(status: 412, .multipleMatches, "ifNoneExist matches more than one \(type).")
                        }
                        if let match = matches.first {
                            resolved.existing[entry.index] = try await loadCurrent([match.rid], tenant: context.tenant, on: context.database).first
                            if let fullURL = entry.fullURL { references[fullURL] = "\(type)/\(match.id)" }
                            continue
                        }
                    }
                    let id = ids.makeID()
                    resolved.assignedIDs[entry.index] = id
                    if let fullURL = entry.fullURL { references[fullURL] = "\(type)/\(id)" }
                case ("PUT", .instance(let type, let id)), ("PATCH", .instance(let type, let id)), ("DELETE", .instance(let type, let id)):
                    try claim("\(type)/\(id)", entry)
                    if let fullURL = entry.fullURL { references[fullURL] = "\(type)/\(id)" }
                case ("PUT", .type(let type)), ("PATCH", .type(let type)), ("DELETE", .type(let type)):
                    guard !entry.request.query.isEmpty else { throw FHIRError.invalid("A conditional \(entry.request.method) needs criteria.") }
                    let context = try database()
                    try await lockConditional(type, in: context)
                    let matches = try await matching(type, criteria: entry.request.query, limit: 2, caller: context.caller, on: context.database)
                    guard matches.count < 2 else {
                        throw FHIRError(status: 412, .multipleMatches, "The criteria of \(entry.request.method) match more than one \(type).")
                    }
                    if let match = matches.first {
                        entry.request.target = .instance(type, match.id)
                    } else if entry.request.method == "PUT" {
                        var id = ids.makeID()
                        if case .resource(let resource) = entry.request.body, let bodyID = resource["id"]?.stringValue { id = bodyID }
                        entry.request.target = .instance(type, id)
                    } else if entry.request.method == "PATCH" {
                        throw FHIRError.notFound("No \(type) matches the criteria of the PATCH.")
                    } else {
                        resolved.entries[position] = entry
                        continue
                    }
                    entry.request.query = []
                    if case .instance(let type, let id) = entry.request.target {
                        try claim("\(type)/\(id)", entry)
                        if let fullURL = entry.fullURL { references[fullURL] = "\(type)/\(id)" }
                    }
                default:
                    break
                }
            } catch let error as FHIRError {
                throw FHIRError(status: error.status, issues: error.issues.map { Self.located($0, entry.path) }, headers: error.headers)
            }
            resolved.entries[position] = entry
        }

        for position in resolved.entries.indices {
            guard case .resource(let resource) = resolved.entries[position].request.body else { continue }
            let entry = resolved.entries[position]
            do {
                var rewritten = try await resolveReferences(in: resource, map: references, context: context)
                if case .instance(_, let id) = entry.request.target, entry.request.method == "PUT", var object = rewritten.objectValue {
                    object["id"] = .string(id)
                    rewritten = .object(object)
                }
                // The whole Bundle was validated before the transaction; rewriting only
                // replaced references by valid ones, so only the type is checked again.
                if ["POST", "PUT"].contains(entry.request.method), let type = Self.resourceType(of: entry.request.target),
                    rewritten["resourceType"]?.stringValue != type
                {
                    throw FHIRError.invalid("The resource is a \(rewritten["resourceType"]?.stringValue ?? "?") but the request URL names \(type).")
                }
                resolved.entries[position].request.body = .resource(rewritten)
            } catch let error as FHIRError {
                throw FHIRError(status: error.status, issues: error.issues.map { Self.located($0, entry.path) })
            }
        }
        return resolved
    }

    /// The new resources of a resolved transaction, prepared.
    func prepareCreations(_ resolved: ResolvedTransaction) async -> [(index: Int, write: PreparedWrite)] {
        var pending: [(index: Int, type: String, id: String, resource: JSON)] = []
        for entry in resolved.entries where entry.request.method == "POST" {
            guard case .type(let type) = entry.request.target, let id = resolved.assignedIDs[entry.index],
                case .resource(let resource) = entry.request.body
            else { continue }
            pending.append((entry.index, type, id, resource))
        }
        return await prepareInParallel(pending, lastUpdated: now())
    }

    /// Prepares new resources (index extraction and serialisation, the CPU part of a write) on
    /// all cores, keeping the entries' order.
    func prepareInParallel(_ items: [(index: Int, type: String, id: String, resource: JSON)], lastUpdated: Int64) async -> [(index: Int, write: PreparedWrite)] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count / 16))
        guard workers > 1 else {
            return items.map { ($0.index, prepare($0.resource, type: $0.type, id: $0.id, version: 1, lastUpdated: lastUpdated)) }
        }
        let chunks = Array(items.enumerated()).chunks(of: (items.count + workers - 1) / workers)
        var prepared = [(index: Int, write: PreparedWrite)?](repeating: nil, count: items.count)
        await withTaskGroup(of: [(Int, Int, PreparedWrite)].self) { group in
            for chunk in chunks {
                group.addTask {
                    chunk.map { position, item in (position, item.index, self.prepare(item.resource, type: item.type, id: item.id, version: 1, lastUpdated: lastUpdated)) }
                }
            }
            for await results in group {
                for (position, index, write) in results { prepared[position] = (index, write) }
            }
        }
        return prepared.compactMap { $0 }
    }

    static func resourceType(of target: RequestTarget) -> String? {
        switch target {
        case .type(let type), .instance(let type, _): type
        default: nil
        }
    }

    /// Replaces references to entries (`urn:uuid:…`, or an entry's fullUrl) with the
    /// resources they became, and conditional references (`Patient?identifier=…`) with the
    /// one resource they match (FHIR R4 §3.1.0.11.2).
    func resolveReferences(in value: JSON, map: [String: String], context: StoreContext?) async throws -> JSON {
        switch value {
        case .object(var object):
            for (key, child) in object {
                if key == "reference", case .string(let reference) = child {
                    if let target = map[reference] {
                        object[key] = .string(target)
                    } else if reference.hasPrefix("urn:uuid:") || reference.hasPrefix("urn:oid:") {
                        throw FHIRError.invalid("The reference \(reference) names no entry of this transaction (no entry has it as fullUrl).")
                    } else if ReferenceValue.isConditional(reference, model: registry.model), let question = reference.firstIndex(of: "?"),
                        let context
                    {
                        let type = String(reference[..<question])
                        let criteria = QueryString.parse(String(reference[reference.index(after: question)...]))
                        let matches = try await matching(type, criteria: criteria, limit: 2, caller: context.caller, on: context.database)
                        guard matches.count == 1 else {
                            throw FHIRError(
                                status: matches.isEmpty ? 404 : 412, matches.isEmpty ? .notFound : .multipleMatches,
                                "The conditional reference \(reference) matches \(matches.isEmpty ? "no" : "more than one") \(type).")
                        }
                        object[key] = .string("\(type)/\(matches[0].id)")
                    }
                } else {
                    object[key] = try await resolveReferences(in: child, map: map, context: context)
                }
            }
            return .object(object)
        case .array(let items):
            var resolved: [JSON] = []
            resolved.reserveCapacity(items.count)
            for item in items { resolved.append(try await resolveReferences(in: item, map: map, context: context)) }
            return .array(resolved)
        default:
            return value
        }
    }
}
