import Core
import FHIR
import Foundation
import Logging
import SQLKit
import Storage

/// One entry of a batch or transaction, parsed.
struct PlannedEntry: Sendable {
    let index: Int
    let fullURL: String?
    var request: FHIRRequest

    var path: String { "Bundle.entry[\(index)]" }
}

extension FHIRStore {
    /// Largest number of entries accepted in one batch or transaction.
    public static let maximumBundleEntries = 10_000

    /// `POST [base]` with a batch or transaction Bundle (FHIR R4 §3.1.0.11).
    public func process(bundle: JSON, as caller: Caller, preference: ReturnPreference) async throws -> FHIRResponse {
        try await process(bundle: bundle, as: caller, preference: preference, audit: nil)
    }

    func process(bundle: JSON, as caller: Caller, preference: ReturnPreference, audit: AuditLog?) async throws -> FHIRResponse {
        guard bundle["resourceType"]?.stringValue == "Bundle" else {
            throw FHIRError.invalid("POST to the base URL takes a Bundle of type batch or transaction.")
        }
        let type = bundle["type"]?.stringValue
        guard type == "transaction" || type == "batch" else {
            throw FHIRError.invalid("Bundle.type must be batch or transaction to be processed (not \(type ?? "missing")).")
        }
        let entries = bundle["entry"]?.arrayValue ?? []
        guard entries.count <= Self.maximumBundleEntries else {
            throw FHIRError(status: 413, .tooLong, "A Bundle may hold at most \(Self.maximumBundleEntries) entries; split it.")
        }
        if type == "transaction" {
            let issues = ResourceValidator(model: registry.model, options: .init(allowConditionalReferences: true)).validate(bundle, expectedType: "Bundle")
            if !issues.isEmpty { throw FHIRError(status: 400, issues: issues) }
            let planned = try entries.enumerated().map { index, entry throws(FHIRError) in try plan(entry, index: index, preference: preference) }
            return try await transaction(planned, as: caller, preference: preference, audit: audit)
        }
        return try await batch(entries, as: caller, preference: preference)
    }

    /// Runs a transaction Bundle and `alongside` in one database transaction: for services
    /// that keep operational rows in step with resources (an account with its Practitioner),
    /// so that neither is written without the other.
    public func transaction(
        _ bundle: JSON, as caller: Caller, audit records: [AuditRecord] = [],
        alongside: @escaping @Sendable (any SQLDatabase) async throws -> Void
    ) async throws -> FHIRResponse {
        guard bundle["resourceType"]?.stringValue == "Bundle", bundle["type"]?.stringValue == "transaction" else {
            throw FHIRError.invalid("Expected a transaction Bundle.")
        }
        let issues = ResourceValidator(model: registry.model, options: .init(allowConditionalReferences: true)).validate(bundle, expectedType: "Bundle")
        if !issues.isEmpty { throw FHIRError(status: 400, issues: issues) }
        let entries = bundle["entry"]?.arrayValue ?? []
        let planned = try entries.enumerated().map { index, entry throws(FHIRError) in try plan(entry, index: index, preference: .minimal) }
        let log = records.first.map { AuditLog(agent: $0.agent) }
        return try await transaction(planned, as: caller, preference: .minimal, alongside: { database in
            try await alongside(database)
            for record in records { log?.add(record) }
        }, audit: log)
    }

    func plan(_ entry: JSON, index: Int, preference: ReturnPreference) throws(FHIRError) -> PlannedEntry {
        let path = "Bundle.entry[\(index)]"
        guard let request = entry["request"], let method = request["method"]?.stringValue, let url = request["url"]?.stringValue else {
            throw .invalid("\(path) needs request.method and request.url.", expression: ["\(path).request"])
        }
        guard ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(method) else {
            throw .invalid("\(path): \(method) is not a FHIR interaction method.", expression: ["\(path).request.method"])
        }
        var relative = url
        if relative.hasPrefix(baseURL + "/") { relative = String(relative.dropFirst(baseURL.count + 1)) }
        let (target, query): (RequestTarget, [(String, String)])
        do {
            (target, query) = try RequestTarget.parse(relativeURL: relative, model: registry.model)
        } catch {
            throw FHIRError(status: error.status, issues: error.issues.map { Self.located($0, path) })
        }
        if target == .system, method == "POST" {
            throw .invalid("\(path): a Bundle cannot contain another batch or transaction.")
        }
        var body = FHIRRequest.Body.none
        if let resource = entry["resource"] { body = .resource(resource) }
        if ["POST", "PUT"].contains(method), case .none = body, target != .systemSearch {
            if case .typeSearch = target {} else { throw .invalid("\(path): \(method) \(url) needs a resource.") }
        }
        var ifMatch: Int?
        if let text = request["ifMatch"]?.stringValue {
            guard let version = Self.parseETag(text) else { throw .invalid("\(path): ifMatch must look like W/\"3\".") }
            ifMatch = version
        }
        let ifNoneExist = request["ifNoneExist"]?.stringValue.map { QueryString.parse($0.hasPrefix("?") ? String($0.dropFirst()) : $0) }
        return PlannedEntry(
            index: index, fullURL: entry["fullUrl"]?.stringValue,
            request: FHIRRequest(method: method, target: target, query: query, body: body, ifMatch: ifMatch, ifNoneExist: ifNoneExist, returnPreference: preference))
    }

    /// `W/"3"`, `"3"` or `3` → 3.
    public static func parseETag(_ text: String) -> Int? {
        var value = Substring(text.trimmingWhitespace())
        if value.hasPrefix("W/") { value = value.dropFirst(2) }
        if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
        return Int(value)
    }

    static func located(_ issue: OutcomeIssue, _ path: String) -> OutcomeIssue {
        var located = issue
        located.diagnostics = "\(path): \(issue.diagnostics)"
        located.expression = issue.expression.isEmpty ? [path] : issue.expression.map { "\(path).\($0)" }
        return located
    }

    // MARK: batch

    func batch(_ entries: [JSON], as caller: Caller, preference: ReturnPreference) async throws -> FHIRResponse {
        var results: [JSON] = []
        for (index, entry) in entries.enumerated() {
            do {
                let planned = try plan(entry, index: index, preference: preference)
                if case .resource(let resource) = planned.request.body, ["POST", "PUT"].contains(planned.request.method),
                    let type = Self.resourceType(of: planned.request.target)
                {
                    try validateForWrite(resource, type: type)
                }
                let response = try await perform(planned.request, as: caller)
                results.append(Self.responseEntry(response, preference: preference, baseURL: baseURL))
            } catch let error as FHIRError {
                var failure = FHIRResponse(status: error.status)
                failure.outcome = error.issues
                results.append(["response": BundleBuilder.response(failure)])
            } catch {
                logger.error("batch entry failed", metadata: ["entry": "\(index)", "error": "\(type(of: error))"])
                var failure = FHIRResponse(status: 500)
                failure.outcome = [OutcomeIssue(.error, .exception, "The server failed to process this entry.")]
                results.append(["response": BundleBuilder.response(failure)])
            }
        }
        return FHIRResponse(status: 200, json: builder().shell(type: "batch-response", total: nil, links: [], entries: results))
    }

    static func responseEntry(_ response: FHIRResponse, preference: ReturnPreference, baseURL: String) -> JSON {
        var entry = JSONObject()
        if let resource = response.resource, !resource.isDeleted {
            entry["fullUrl"] = .string("\(baseURL)/\(resource.type)/\(resource.id)")
        }
        if preference == .representation, let body = response.body(for: .representation),
            body["resourceType"]?.stringValue != "OperationOutcome" || response.resource == nil
        {
            entry["resource"] = body
        }
        var outcome = response
        if preference == .operationOutcome, outcome.outcome.isEmpty == false {
            var object = BundleBuilder.response(outcome).objectValue ?? JSONObject()
            object["outcome"] = OperationOutcome.resource(outcome.outcome)
            entry["response"] = .object(object)
        } else {
            outcome.outcome = response.status >= 400 ? response.outcome : []
            entry["response"] = BundleBuilder.response(outcome)
        }
        return .object(entry)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while scalars.first?.isWhitespace == true { scalars.removeFirst() }
        while scalars.last?.isWhitespace == true { scalars.removeLast() }
        return String(scalars)
    }
}
