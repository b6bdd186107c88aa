import SQLKit

/// A condition on resource rows, in the form that lets the builder choose how the database
/// reaches them: an index-table condition can either drive the search (a derived table of row
/// ids) or be checked per row (`EXISTS (…)`); other conditions apply as they are.
struct SQLPredicate {
    enum Form {
        /// Rows of `table` (aliased `alias`) of the parameters `pids` meeting `condition`
        /// (nil: any value) name the matching resources.
        case index(table: String, alias: String, pids: [Int], condition: SQLQueryString?, negated: Bool)
        case plain(SQLQueryString)
    }

    let form: Form
    /// Estimated selectivity: lower ranks narrow the result more and drive the query.
    let rank: Int

    var canDrive: Bool {
        if case .index(_, _, _, _, let negated) = form { return !negated }
        return false
    }

    /// `alias.pid = ?` (or `IN`), then the value condition.
    static func rows(_ alias: String, pids: [Int], condition: SQLQueryString?) -> SQLQueryString {
        let column = "\(alias).pid"
        var sql: SQLQueryString
        switch pids.count {
        case 0: sql = "1 = 0"
        case 1: sql = "\(unsafeRaw: column) = \(bind: pids[0])"
        default: sql = "\(unsafeRaw: column) IN (\(binds: pids))"
        }
        if let condition { sql += " AND " + condition }
        return sql
    }

    /// The predicate as a condition on resource rows aliased `resource`; index conditions are
    /// checked per row.
    func render(on resource: String) -> SQLQueryString {
        switch form {
        case .plain(let sql):
            return sql
        case .index(let table, let alias, let pids, let condition, let negated):
            let exists: SQLQueryString =
                "EXISTS (SELECT 1 FROM \(unsafeRaw: table) \(unsafeRaw: alias) WHERE \(unsafeRaw: alias).rid = \(unsafeRaw: resource).rid AND "
                + Self.rows(alias, pids: pids, condition: condition) + ")"
            return negated ? "NOT " + exists : exists
        }
    }

    /// The index rows of a drivable predicate, as a derived table of distinct row ids.
    func driverTable() -> SQLQueryString? {
        guard case .index(let table, let alias, let pids, let condition, false) = form else { return nil }
        return "(SELECT DISTINCT \(unsafeRaw: alias).rid AS rid FROM \(unsafeRaw: table) \(unsafeRaw: alias) WHERE "
            + Self.rows(alias, pids: pids, condition: condition) + ")"
    }

    /// The index of the predicate that should drive: the lowest-ranked drivable one.
    static func driverIndex(_ predicates: [SQLPredicate]) -> Int? {
        predicates.indices.filter { predicates[$0].canDrive }.min { predicates[$0].rank < predicates[$1].rank }
    }
}

