import Core
import FHIR
import SQLKit
import Storage

extension FHIRStore {
    /// Performs one interaction: reads on a read connection, writes in a transaction.
    ///
    /// A caller with an audit agent leaves AuditEvents: writes in the same transaction as the
    /// write, reads (and failures) in a group-committed transaction of their own, before the
    /// answer is returned.
    public func perform(_ request: FHIRRequest, as caller: Caller) async throws -> FHIRResponse {
        let log = caller.agent.map(AuditLog.init)
        do {
            let response = try await run(request, as: caller, audit: log)
            for record in log?.take() ?? [] { try await self.record(record, tenant: caller.tenant) }
            return response
        } catch {
            if let log {
                _ = log.take()
                try? await self.record(Self.failureRecord(request, agent: log.agent, error: error), tenant: caller.tenant)
            }
            throw error
        }
    }

    func run(_ request: FHIRRequest, as caller: Caller, audit: AuditLog?) async throws -> FHIRResponse {
        if request.method == "POST", request.target == .system {
            return try await process(bundle: try Self.resourceBody(request), as: caller, preference: request.returnPreference, audit: audit)
        }
        if request.method == "POST", case .type(let type) = request.target {
            return writeResponse(
                try await create(try Self.resourceBody(request), type: type, ifNoneExist: request.ifNoneExist, as: caller, audit: audit))
        }
        if Self.isRead(request) {
            return try await database.read { database in
                try await execute(request, in: StoreContext(database: database, caller: caller, audit: audit))
            }
        }
        return try await write(as: caller, audit: audit) { context in
            try await execute(request, in: context)
        }
    }

    static func isRead(_ request: FHIRRequest) -> Bool {
        switch request.method {
        case "GET", "HEAD": true
        case "POST":
            switch request.target {
            case .typeSearch, .systemSearch, .typeOperation(_, "validate"), .instanceOperation(_, _, "validate"),
                .instanceOperation("Patient", _, "everything"):
                true
            default: false
            }
        default: false
        }
    }

    static func resourceBody(_ request: FHIRRequest) throws(FHIRError) -> JSON {
        guard case .resource(let json) = request.body else {
            throw .invalid("This interaction needs a resource in the request body.")
        }
        return json
    }

    /// The interactions allowed on a target, for 405 answers.
    static func allowed(_ target: RequestTarget) -> String {
        switch target {
        case .system: "GET, POST"
        case .metadata, .systemHistory, .typeHistory, .instanceHistory, .version: "GET"
        case .systemSearch, .typeSearch: "POST"
        case .type: "GET, POST, PUT, PATCH, DELETE"
        case .instance: "GET, HEAD, PUT, PATCH, DELETE"
        case .typeOperation, .instanceOperation, .systemOperation: "GET, POST"
        }
    }

    func execute(_ request: FHIRRequest, in context: StoreContext) async throws -> FHIRResponse {
        let response = try await interact(request, in: context)
        if let log = context.audit { log.add(try await auditRecord(request, response, agent: log.agent, on: context.database)) }
        return response
    }

    func interact(_ request: FHIRRequest, in context: StoreContext) async throws -> FHIRResponse {
        let caller = context.caller
        let database = context.database
        switch (request.method, request.target) {
        case ("GET", .instance(let type, let id)), ("HEAD", .instance(let type, let id)):
            return FHIRResponse(status: 200, resource: try await read(type, id, caller: caller, on: database))
        case ("GET", .version(let type, let id, let version)), ("HEAD", .version(let type, let id, let version)):
            return FHIRResponse(status: 200, resource: try await vread(type, id, version: version, caller: caller, on: database))
        case ("GET", .type(let type)), ("POST", .typeSearch(let type)):
            return try await searchResponse(type: type, request.query, path: type, handling: request.handling, in: context)
        case ("GET", .system), ("POST", .systemSearch):
            return try await searchResponse(type: nil, request.query, path: "", handling: request.handling, in: context)
        case ("GET", .systemHistory), ("GET", .typeHistory), ("GET", .instanceHistory):
            return try await historyResponse(request, as: caller)
        case ("GET", .instanceOperation("Patient", let id, "everything")), ("POST", .instanceOperation("Patient", let id, "everything")):
            return try await everythingResponse(patient: id, request.query, as: caller)
        case ("POST", .typeOperation(let type, "validate")):
            return try validateResponse(request, type: type)
        case ("POST", .instanceOperation(let type, _, "validate")):
            return try validateResponse(request, type: type)
        case ("POST", .type(let type)):
            let resource = try Self.resourceBody(request)
            try validateForWrite(resource, type: type)
            let outcome = try await create(resource, type: type, ifNoneExist: request.ifNoneExist, id: nil, in: context)
            return writeResponse(outcome)
        case ("PUT", .instance(let type, let id)):
            let resource = try Self.resourceBody(request)
            try validateForWrite(resource, type: type)
            guard resource["id"]?.stringValue == id else {
                throw FHIRError.invalid("The resource id must be present in the body and equal the id in the URL (\(id)).")
            }
            return writeResponse(try await update(resource, type: type, id: id, ifMatch: request.ifMatch, method: "PUT", in: context))
        case ("PUT", .type(let type)) where !request.query.isEmpty:
            let resource = try Self.resourceBody(request)
            try validateForWrite(resource, type: type)
            return writeResponse(try await conditionalUpdate(resource, type: type, criteria: request.query, ifMatch: request.ifMatch, in: context))
        case ("PATCH", .instance(let type, let id)):
            return writeResponse(try await applyPatch(type, id, patch: try Self.patchBody(request), ifMatch: request.ifMatch, in: context))
        case ("PATCH", .type(let type)) where !request.query.isEmpty:
            return writeResponse(try await conditionalPatch(type, criteria: request.query, patch: try Self.patchBody(request), ifMatch: request.ifMatch, in: context))
        case ("DELETE", .instance(let type, let id)):
            return writeResponse(try await delete(type, id, ifMatch: request.ifMatch, in: context))
        case ("DELETE", .type(let type)) where !request.query.isEmpty:
            return writeResponse(try await conditionalDelete(type, criteria: request.query, in: context))
        case (_, .typeOperation(_, let name)), (_, .instanceOperation(_, _, let name)), (_, .systemOperation(let name)):
            throw FHIRError.notSupported("The operation $\(name) is not supported here.", status: 404)
        case ("PUT", .type), ("PATCH", .type), ("DELETE", .type):
            throw FHIRError.invalid("A \(request.method) on a type needs search criteria (conditional \(request.method.lowercased())).")
        default:
            throw FHIRError(
                status: 405, issues: [OutcomeIssue(.error, .notSupported, "\(request.method) is not allowed here.")],
                headers: ["Allow": Self.allowed(request.target)])
        }
    }

    static func patchBody(_ request: FHIRRequest) throws(FHIRError) -> JSONPatch {
        switch request.body {
        case .patch(let patch): return patch
        case .resource(let json):
            // In a Bundle, a patch travels as a Binary holding the JSON Patch document.
            if json["resourceType"]?.stringValue == "Binary", let data = json["data"]?.stringValue,
                let bytes = Base64.decode(data), let document = try? JSONParser.parse(bytes)
            {
                return try JSONPatch(document)
            }
            return try JSONPatch(json)
        case .none:
            throw .invalid("PATCH needs a JSON Patch document (application/json-patch+json).")
        }
    }

    func writeResponse(_ outcome: WriteOutcome) -> FHIRResponse {
        var response = FHIRResponse(status: outcome.status, resource: outcome.resource)
        switch outcome.kind {
        case .deleted:
            response.resource = nil
            response.etag = outcome.resource?.etag
            response.lastModified = nil
            response.outcome = [OutcomeIssue(.information, .informational, "Deleted \(outcome.resource?.reference ?? "").")]
            response.json = OperationOutcome.resource(response.outcome)
        case .nothingToDelete:
            response.outcome = [OutcomeIssue(.information, .informational, "Nothing to delete.")]
        case .created, .updated, .matchedExisting:
            response.location = outcome.resource?.versionedReference
            let verb = outcome.kind == .created ? "Created" : outcome.kind == .updated ? "Updated" : "Found existing"
            response.outcome = [OutcomeIssue(.information, .informational, "\(verb) \(outcome.resource?.versionedReference ?? "").")]
        }
        return response
    }

    func builder() -> BundleBuilder {
        BundleBuilder(baseURL: baseURL, timestamp: now(), id: ids.makeID())
    }

    func searchResponse(type: String?, _ parameters: [(String, String)], path: String, handling: SearchQuery.Handling, in context: StoreContext) async throws -> FHIRResponse {
        let query = try SearchQuery.parse(resourceType: type, parameters: parameters, handling: handling, registry: registry)
        let result = try await search(query, caller: context.caller, on: context.database)
        let bundle = try builder().searchset(result, path: path, parameters: query.linkParameters, summary: query.summary, elements: query.elements)
        var response = FHIRResponse(status: 200, json: bundle)
        response.rids = (result.matches + result.included).map(\.rid)
        return response
    }

    func historyResponse(_ request: FHIRRequest, as caller: Caller) async throws -> FHIRResponse {
        var since: Int64?
        var count = SearchQuery.defaultCount
        var cursor: String?
        var links: [(String, String)] = []
        for (name, value) in request.query {
            switch name {
            case "_since":
                guard let instant = FHIRDateTime.parse(value, grammar: .search) else {
                    throw FHIRError.invalid("_since must be an instant such as 2026-01-01T00:00:00Z.")
                }
                since = instant.range.lowerBound
                links.append((name, value))
            case "_count":
                guard let value = Int(value), value >= 0 else { throw FHIRError.invalid("_count must be a whole number.") }
                count = max(1, min(value, SearchQuery.maximumCount))
                links.append((name, String(count)))
            case "_cursor": cursor = value
            case "_format", "_pretty": break
            case "_at", "_list": throw FHIRError.notSupported("\(name) is not supported on history.")
            default: throw FHIRError.invalid("Unknown history parameter \(name) (use _since, _count).")
            }
        }
        let scope: HistoryScope
        let path: String
        switch request.target {
        case .instanceHistory(let type, let id): (scope, path) = (.instance(type: type, id: id), "\(type)/\(id)/_history")
        case .typeHistory(let type): (scope, path) = (.type(type), "\(type)/_history")
        default: (scope, path) = (.system, "_history")
        }
        let result = try await history(scope, since: since, count: count, cursor: cursor, as: caller)
        var response = FHIRResponse(status: 200, json: builder().history(result, path: path, parameters: links))
        response.rids = result.entries.map(\.resource.rid)
        return response
    }

    func everythingResponse(patient id: String, _ parameters: [(String, String)], as caller: Caller) async throws -> FHIRResponse {
        var since: Int64?
        var types: [String] = []
        var count = SearchQuery.defaultCount
        var cursor: String?
        var links: [(String, String)] = []
        for (name, value) in parameters {
            switch name {
            case "_since":
                guard let instant = FHIRDateTime.parse(value, grammar: .search) else { throw FHIRError.invalid("_since must be an instant.") }
                since = instant.range.lowerBound
                links.append((name, value))
            case "_type":
                for type in value.split(separator: ",").map(String.init) {
                    guard registry.model.isResourceType(type) else { throw FHIRError.invalid("'\(type)' in _type is not a resource type.") }
                    types.append(type)
                }
                links.append((name, value))
            case "_count":
                guard let value = Int(value), value > 0 else { throw FHIRError.invalid("_count must be a positive whole number.") }
                count = min(value, SearchQuery.maximumCount)
                links.append((name, String(count)))
            case "_cursor": cursor = value
            case "_format", "_pretty": break
            default: throw FHIRError.invalid("Unknown $everything parameter \(name) (use _since, _type, _count).")
            }
        }
        let result = try await everything(patient: id, since: since, types: types, count: count, cursor: cursor, as: caller)
        let bundle = try builder().searchset(result, path: "Patient/\(id)/$everything", parameters: links, summary: nil, elements: nil)
        var response = FHIRResponse(status: 200, json: bundle)
        response.rids = (result.matches + result.included).map(\.rid)
        return response
    }

    /// `$validate` answers 200 with an OperationOutcome whether or not the resource is valid
    /// (FHIR R4 Resource-validate); 4xx means the validation itself could not run.
    func validateResponse(_ request: FHIRRequest, type: String) throws -> FHIRResponse {
        var resource = try Self.resourceBody(request)
        if resource["resourceType"]?.stringValue == "Parameters", type != "Parameters" {
            guard let inner = resource["parameter"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "resource" })?["resource"] else {
                throw FHIRError.invalid("The Parameters resource has no 'resource' parameter to validate.")
            }
            resource = inner
        }
        var issues: [OutcomeIssue]
        if resource["resourceType"]?.stringValue != type {
            issues = [OutcomeIssue(.error, .invalid, "The resource is not a \(type).")]
        } else {
            issues = ResourceValidator(model: registry.model).validate(resource, expectedType: type)
        }
        if issues.isEmpty { issues = [OutcomeIssue(.information, .informational, "All OK: no errors found.")] }
        return FHIRResponse(status: 200, json: OperationOutcome.resource(issues))
    }
}

/// Standard base64 decoding (RFC 4648), whitespace ignored.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte + 4)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "/"), UInt8(ascii: "_"): values.append(63)
            case UInt8(ascii: "="), 0x20, 0x0A, 0x0D, 0x09: continue
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        var index = 0
        while index + 1 < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            let a = chunk[chunk.startIndex], b = chunk[chunk.startIndex + 1]
            bytes.append(a << 2 | b >> 4)
            if chunk.count > 2 {
                let c = chunk[chunk.startIndex + 2]
                bytes.append((b & 0x0F) << 4 | c >> 2)
                if chunk.count > 3 { bytes.append((c & 0x03) << 6 | chunk[chunk.startIndex + 3]) }
            }
            index += 4
        }
        return bytes
    }
}
