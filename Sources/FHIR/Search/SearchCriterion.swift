/// A date comparison prefix (FHIR R4 §3.1.1.4.4 "prefixes").
public enum SearchPrefix: String, Sendable, CaseIterable {
    case eq, ne, gt, lt, ge, le, sa, eb, ap
}

/// One date value of a search, as the range it names.
public struct DatePredicate: Sendable, Equatable {
    public var prefix: SearchPrefix
    public var low: Int64
    public var high: Int64
}

/// One number value: the exact value and the interval its precision implies
/// (`100` means [99.5, 100.5), FHIR R4 §3.1.1.4.1).
public struct NumberPredicate: Sendable, Equatable {
    public var prefix: SearchPrefix
    public var value: Double
    public var low: Double
    public var high: Double
}

public struct QuantityPredicate: Sendable, Equatable {
    public var number: NumberPredicate
    public var system: String?
    public var code: String?
}

/// One token value. `system == nil` matches any system; `system == ""` (from `|code`)
/// matches codes without a system; `code == nil` (from `system|`) matches any code.
public struct TokenValue: Sendable, Equatable {
    public var system: String?
    public var code: String?
}

public enum ReferenceTarget: Sendable, Equatable {
    /// `Patient/123` (type known) or `123` (any type).
    case local(type: String?, id: String)
    /// An absolute URL to another server, or a canonical URL.
    case url(String)
}

public enum StringMatch: Sendable, Equatable { case startsWith, exact, contains }
public enum TokenMatch: Sendable, Equatable { case code, not, text, ofType }
public enum URIMatch: Sendable, Equatable { case exact, below, above }

/// What one parameter of a search asks for; several values are alternatives (OR).
public enum ParameterMatch: Sendable {
    case missing(Bool)
    case string([String], StringMatch)
    case token([TokenValue], TokenMatch)
    case date([DatePredicate])
    case number([NumberPredicate])
    case quantity([QuantityPredicate])
    case reference([ReferenceTarget])
    case uri([String], URIMatch)
}

/// One condition of a search; the conditions of a search all hold (AND).
public indirect enum SearchCriterion: Sendable {
    /// `_id`: any of these ids.
    case id([String])
    /// `_lastUpdated`: any of these ranges.
    case lastUpdated([DatePredicate])
    case parameter(SearchParameterDefinition, ParameterMatch)
    /// `subject:Patient.name=x`: the reference points to a resource of one of the target
    /// types that meets the criterion given for that type (FHIR R4 §3.1.1.5.5).
    case chain(SearchParameterDefinition, [ChainTarget])
    /// `_has:Observation:patient:code=x`: some resource of `sourceType` refers to this one
    /// through `reference` and meets the criterion (FHIR R4 §3.1.1.5.6).
    case has(sourceType: String, reference: SearchParameterDefinition, criterion: SearchCriterion)
}

public struct ChainTarget: Sendable {
    public let type: String
    public let criterion: SearchCriterion
}

public struct SortKey: Sendable {
    /// nil for `_id` and `_lastUpdated`, which sort on columns.
    public let parameter: SearchParameterDefinition?
    public let code: String
    public let descending: Bool
}

/// `_include` / `_revinclude` (FHIR R4 §3.1.1.5.4).
public struct IncludeDirective: Sendable, Equatable {
    public let sourceType: String
    /// nil for `*` (every reference parameter of the source type).
    public let parameterCode: String?
    public let targetType: String?
    public let iterate: Bool
}

public enum TotalMode: String, Sendable { case none, estimate, accurate }
public enum SummaryMode: String, Sendable { case `true`, `false`, text, data, count }
