/// A parsed FHIR search: its conditions and result controls, checked against the search
/// parameters of the resource type (FHIR R4 §3.1.1).
public struct SearchQuery: Sendable {
    public enum Handling: String, Sendable { case strict, lenient }

    public static let defaultCount = 20
    public static let maximumCount = 1000

    /// nil for a search across all types (`GET /fhir?…`).
    public var resourceType: String?
    /// `_type` of a system-level search.
    public var types: [String] = []
    public var criteria: [SearchCriterion] = []
    public var sort: [SortKey] = []
    public var count = SearchQuery.defaultCount
    public var total: TotalMode?
    public var summary: SummaryMode?
    public var elements: [String]?
    public var includes: [IncludeDirective] = []
    public var revIncludes: [IncludeDirective] = []
    /// Position after the previous page (from a `next` link).
    public var cursor: String?
    /// Parameters ignored under lenient handling, to report to the client.
    public var ignored: [String] = []
    /// The parameters as received, minus paging, to rebuild links.
    public var linkParameters: [(String, String)] = []

    public init(resourceType: String?) {
        self.resourceType = resourceType
    }

    /// Parameters that belong to HTTP handling rather than to the search.
    static let transportParameters: Set<String> = ["_format", "_pretty"]
    /// Parameters the standard defines that Hygie does not implement.
    static let unsupportedParameters: Set<String> = ["_text", "_content", "_list", "_query", "_filter", "_contained", "_containedType"]

    public static func parse(
        resourceType: String?, parameters: [(String, String)], handling: Handling = .lenient,
        registry: SearchParameterRegistry = .r4
    ) throws(FHIRError) -> SearchQuery {
        var query = SearchQuery(resourceType: resourceType)
        var parser = SearchParser(registry: registry)
        for (name, value) in parameters {
            let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
            if transportParameters.contains(base) { continue }
            if base != "_cursor" { query.linkParameters.append((name, value)) }
            switch base {
            case "_count":
                guard let count = Int(value), count >= 0 else { throw .invalid("_count must be a whole number, not '\(value)'.") }
                query.count = min(count, maximumCount)
            case "_sort": query.sort = try parser.sortKeys(value, type: resourceType)
            case "_total":
                guard let total = TotalMode(rawValue: value) else { throw .invalid("_total must be none, estimate or accurate.") }
                query.total = total
            case "_summary":
                guard let summary = SummaryMode(rawValue: value) else { throw .invalid("_summary must be true, false, text, data or count.") }
                query.summary = summary
            case "_elements":
                query.elements = value.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
            case "_include", "_revinclude":
                let modifier = name.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init)
                guard modifier == nil || modifier == "iterate" || modifier == "recurse" else {
                    throw .invalid("\(base) only takes the :iterate modifier.")
                }
                let directive = try parser.include(value, iterate: modifier != nil, reverse: base == "_revinclude")
                if base == "_include" { query.includes.append(directive) } else { query.revIncludes.append(directive) }
            case "_cursor": query.cursor = value
            case "_type":
                guard resourceType == nil else { throw .invalid("_type is only for searches across all types.") }
                for type in value.split(separator: ",").map(String.init) {
                    guard registry.model.isResourceType(type) else { throw .invalid("'\(type)' in _type is not a resource type.") }
                    query.types.append(type)
                }
            default:
                if unsupportedParameters.contains(base) {
                    guard handling == .lenient else { throw .notSupported("The parameter \(base) is not supported.") }
                    query.ignored.append(name)
                    continue
                }
                do {
                    query.criteria.append(try parser.criterion(name: name, value: value, type: resourceType))
                } catch let error where error.issues.first?.code == .notSupported && handling == .lenient && parser.isUnknownName(error) {
                    query.ignored.append(name)
                }
            }
        }
        if query.summary != nil, query.elements != nil {
            throw .invalid("_summary and _elements cannot be used together.")
        }
        return query
    }
}

/// Marker text for "unknown parameter" errors, which lenient handling turns into warnings.
let unknownParameterMarker = "Unknown search parameter"

struct SearchParser {
    let registry: SearchParameterRegistry

    func isUnknownName(_ error: FHIRError) -> Bool {
        error.issues.first?.diagnostics.hasPrefix(unknownParameterMarker) == true
    }

    func definition(_ type: String?, _ code: String) throws(FHIRError) -> SearchParameterDefinition {
        let lookupType = type ?? "Resource"
        if let definition = registry.parameter(lookupType, code) ?? (type == nil ? registry.common[code] : nil) {
            return definition
        }
        throw .notSupported("\(unknownParameterMarker) '\(code)' for \(type ?? "a search across all types").")
    }

    mutating func criterion(name: String, value: String, type: String?) throws(FHIRError) -> SearchCriterion {
        if name.hasPrefix("_has:") { return try has(name: name, value: value, type: type) }
        if let dot = name.firstIndex(of: ".") {
            return try chain(head: String(name[..<dot]), tail: String(name[name.index(after: dot)...]), value: value, type: type)
        }
        let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
        let code = parts[0]
        let modifier = parts.count > 1 ? parts[1] : nil
        if code == "_id" {
            guard modifier == nil else { throw .invalid("_id takes no modifier.") }
            return .id(Self.splitOr(value))
        }
        if code == "_lastUpdated" {
            if modifier == "missing" { throw .invalid("_lastUpdated is never missing.") }
            guard modifier == nil else { throw .invalid("_lastUpdated takes no modifier.") }
            return .lastUpdated(try Self.splitOr(value).map { v throws(FHIRError) in try Self.datePredicate(v) })
        }
        let definition = try definition(type, code)
        return .parameter(definition, try match(definition, modifier: modifier, value: value))
    }

    func match(_ definition: SearchParameterDefinition, modifier: String?, value: String) throws(FHIRError) -> ParameterMatch {
        if modifier == "missing" {
            guard value == "true" || value == "false" else { throw .invalid(":missing takes true or false.") }
            return .missing(value == "true")
        }
        let values = Self.splitOr(value)
        guard !values.isEmpty, values.allSatisfy({ !$0.isEmpty }) else {
            throw .invalid("The parameter \(definition.code) has an empty value.")
        }
        func unsupported() -> FHIRError {
            .invalid("The modifier :\(modifier ?? "") is not supported on \(definition.type.rawValue) parameter \(definition.code).")
        }
        switch definition.type {
        case .string:
            switch modifier {
            case nil: return .string(values, .startsWith)
            case "exact": return .string(values, .exact)
            case "contains": return .string(values, .contains)
            default: throw unsupported()
            }
        case .token:
            switch modifier {
            case nil: return .token(values.map(Self.tokenValue), .code)
            case "not": return .token(values.map(Self.tokenValue), .not)
            case "text": return .token(values.map { TokenValue(system: nil, code: $0) }, .text)
            case "of-type":
                var tokens: [TokenValue] = []
                for value in values {
                    let parts = Self.splitUnescaped(value, on: "|")
                    guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty else {
                        throw .invalid(":of-type takes system|code|value.")
                    }
                    tokens.append(TokenValue(system: "\(parts[0])|\(parts[1])", code: parts[2]))
                }
                return .token(tokens, .ofType)
            default: throw unsupported()
            }
        case .date:
            guard modifier == nil else { throw unsupported() }
            return .date(try values.map { v throws(FHIRError) in try Self.datePredicate(v) })
        case .number:
            guard modifier == nil else { throw unsupported() }
            return .number(try values.map { v throws(FHIRError) in try Self.numberPredicate(v) })
        case .quantity:
            guard modifier == nil else { throw unsupported() }
            return .quantity(try values.map { v throws(FHIRError) in try Self.quantityPredicate(v) })
        case .reference:
            var targetType: String?
            if let modifier {
                guard registry.model.isResourceType(modifier) else { throw unsupported() }
                targetType = modifier
            }
            return .reference(try values.map { v throws(FHIRError) in try Self.referenceTarget(v, type: targetType, model: registry.model) })
        case .uri:
            switch modifier {
            case nil: return .uri(values, .exact)
            case "below": return .uri(values, .below)
            case "above": return .uri(values, .above)
            default: throw unsupported()
            }
        case .composite, .special:
            throw .notSupported("The parameter \(definition.code) is not supported.")
        }
    }

    mutating func chain(head: String, tail: String, value: String, type: String?) throws(FHIRError) -> SearchCriterion {
        guard let type else { throw .invalid("Chained parameters need a resource type.") }
        let parts = head.split(separator: ":", maxSplits: 1).map(String.init)
        let reference = try definition(type, parts[0])
        guard reference.type == .reference else {
            throw .invalid("Only reference parameters can be chained; \(parts[0]) is a \(reference.type.rawValue) parameter.")
        }
        var candidates = reference.targets.filter { registry.model.isResourceType($0) }
        if reference.targets.contains("Resource") || reference.targets.isEmpty { candidates = registry.model.resourceTypes }
        if parts.count > 1 {
            guard candidates.contains(parts[1]) else {
                throw .invalid("\(type).\(reference.code) cannot refer to a \(parts[1]).")
            }
            candidates = [parts[1]]
        }
        var targets: [ChainTarget] = []
        var firstError: FHIRError?
        for candidate in candidates {
            do {
                targets.append(ChainTarget(type: candidate, criterion: try criterion(name: tail, value: value, type: candidate)))
            } catch {
                if firstError == nil || !isUnknownName(error) { firstError = error }
            }
        }
        guard !targets.isEmpty else {
            throw firstError ?? .notSupported("\(unknownParameterMarker) '\(head).\(tail)' for \(type).")
        }
        return .chain(reference, targets)
    }

    mutating func has(name: String, value: String, type: String?) throws(FHIRError) -> SearchCriterion {
        guard let type else { throw .invalid("_has needs a resource type.") }
        let parts = name.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, registry.model.isResourceType(parts[1]) else {
            throw .invalid("_has takes the form _has:Type:reference:parameter=value.")
        }
        let reference = try definition(parts[1], parts[2])
        guard reference.type == .reference else { throw .invalid("\(parts[1]).\(parts[2]) is not a reference parameter.") }
        guard reference.targets.isEmpty || reference.targets.contains(type) || reference.targets.contains("Resource") else {
            throw .invalid("\(parts[1]).\(parts[2]) never refers to a \(type).")
        }
        return .has(sourceType: parts[1], reference: reference, criterion: try criterion(name: parts[3], value: value, type: parts[1]))
    }

    func sortKeys(_ value: String, type: String?) throws(FHIRError) -> [SortKey] {
        var keys: [SortKey] = []
        for raw in value.split(separator: ",").map({ String($0).trimmed }) where !raw.isEmpty {
            let descending = raw.hasPrefix("-")
            let code = descending ? String(raw.dropFirst()) : raw
            if code == "_id" || code == "_lastUpdated" {
                keys.append(SortKey(parameter: nil, code: code, descending: descending))
                continue
            }
            let definition = try definition(type, code)
            guard definition.type != .composite, definition.type != .special else {
                throw .invalid("Cannot sort on \(code).")
            }
            keys.append(SortKey(parameter: definition, code: code, descending: descending))
        }
        return keys
    }

    func include(_ value: String, iterate: Bool, reverse: Bool) throws(FHIRError) -> IncludeDirective {
        let name = reverse ? "_revinclude" : "_include"
        if value == "*" {
            throw .invalid("\(name)=* needs a source type: use Type:* .")
        }
        let parts = value.split(separator: ":").map(String.init)
        guard parts.count == 2 || parts.count == 3, registry.model.isResourceType(parts[0]) else {
            throw .invalid("\(name) takes SourceType:parameter[:TargetType], not '\(value)'.")
        }
        if parts[1] == "*" {
            return IncludeDirective(sourceType: parts[0], parameterCode: nil, targetType: nil, iterate: iterate)
        }
        let definition = try definition(parts[0], parts[1])
        guard definition.type == .reference else { throw .invalid("\(parts[0]):\(parts[1]) is not a reference parameter.") }
        if parts.count == 3 {
            guard registry.model.isResourceType(parts[2]) else { throw .invalid("'\(parts[2])' is not a resource type.") }
        }
        return IncludeDirective(sourceType: parts[0], parameterCode: parts[1], targetType: parts.count == 3 ? parts[2] : nil, iterate: iterate)
    }
}
