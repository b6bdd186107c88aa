/// One value of one search parameter of a resource, as stored in the search index.
public enum IndexValue: Sendable, Hashable {
    /// Folded for search (`normalized`) and as written (for `:exact`).
    case string(normalized: String, exact: String)
    /// A code, with its system when known and its display text folded (for `:text`).
    case token(system: String?, code: String?, text: String?)
    /// The range the value covers, in epoch milliseconds; open ends use Int64.min / max.
    case date(low: Int64, high: Int64)
    /// A local reference (type and id) or an external/canonical URL.
    case reference(type: String?, id: String?, url: String?)
    case number(Double)
    /// A quantity as a range (equal bounds for a plain Quantity; a Range gives both), with
    /// its unit system and code, and the human unit.
    case quantity(low: Double?, high: Double?, system: String?, code: String?, unit: String?)
    case uri(String)
}

/// `code` is the parameter code; identifier types are indexed under `<code>:of-type` so that
/// `identifier:of-type=system|code|value` has rows to match (FHIR R4 §3.1.1.5.9).
public struct IndexEntry: Sendable, Hashable {
    public let code: String
    public let value: IndexValue

    public init(code: String, value: IndexValue) {
        self.code = code
        self.value = value
    }

    public static func ofTypeCode(_ code: String) -> String { code + ":of-type" }
}
