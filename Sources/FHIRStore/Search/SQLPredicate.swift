import SQLKit

/// A condition on resource rows, in the form that lets the builder choose how the database
/// reaches them: an index-table subquery can either drive the search (`rid IN (…)`) or be
/// checked per row (`EXISTS (…)`); other conditions apply as they are.
struct SQLPredicate {
    enum Form {
        /// Rows of `table` (aliased `alias`) meeting `condition` name the matching resources.
        case index(table: String, alias: String, condition: SQLQueryString, negated: Bool)
        case plain(SQLQueryString)
    }

    let form: Form
    /// Estimated selectivity: lower ranks narrow the result more and drive the query.
    let rank: Int

    var canDrive: Bool {
        if case .index(_, _, _, let negated) = form { return !negated }
        return false
    }

    func render(on resource: String, driving: Bool) -> SQLQueryString {
        switch form {
        case .plain(let sql):
            return sql
        case .index(let table, let alias, let condition, let negated):
            if driving {
                return "\(unsafeRaw: resource).rid IN (SELECT \(unsafeRaw: alias).rid FROM \(unsafeRaw: table) \(unsafeRaw: alias) WHERE \(condition))"
            }
            let exists: SQLQueryString =
                "EXISTS (SELECT 1 FROM \(unsafeRaw: table) \(unsafeRaw: alias) WHERE \(unsafeRaw: alias).rid = \(unsafeRaw: resource).rid AND \(condition))"
            return negated ? "NOT " + exists : exists
        }
    }

    /// All predicates joined by AND; the lowest-ranked drivable one drives.
    static func conjunction(_ predicates: [SQLPredicate], on resource: String) -> SQLQueryString {
        guard !predicates.isEmpty else { return "1 = 1" }
        let driver = predicates.indices.filter { predicates[$0].canDrive }.min { predicates[$0].rank < predicates[$1].rank }
        return predicates.enumerated().map { index, predicate in
            "(" + predicate.render(on: resource, driving: index == driver) + ")"
        }.joined(separator: " AND ")
    }
}

extension Sequence where Element == SQLQueryString {
    /// Conditions joined by OR, parenthesised.
    func ored() -> SQLQueryString {
        "(" + map { "(" + $0 + ")" }.joined(separator: " OR ") + ")"
    }
}
