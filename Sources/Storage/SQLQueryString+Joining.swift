import SQLKit

extension Sequence where Element == SQLQueryString {
    /// Conditions joined by OR, each and the whole parenthesised.
    public func ored() -> SQLQueryString {
        "(" + map { "(" + $0 + ")" }.joined(separator: " OR ") + ")"
    }

    /// Conditions joined by AND, each and the whole parenthesised.
    public func anded() -> SQLQueryString {
        "(" + map { "(" + $0 + ")" }.joined(separator: " AND ") + ")"
    }
}
