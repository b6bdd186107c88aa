import FHIR

/// One page of a search.
public struct SearchResult: Sendable {
    public var matches: [StoredResource] = []
    /// Resources added by `_include` / `_revinclude`.
    public var included: [StoredResource] = []
    public var total: Int?
    /// Where the next page starts; nil on the last page.
    public var nextCursor: String?
    /// Warnings to report in the Bundle (ignored parameters).
    public var warnings: [OutcomeIssue] = []
}
