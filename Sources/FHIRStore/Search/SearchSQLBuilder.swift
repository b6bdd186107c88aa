import Core
import FHIR
import SQLKit
import Storage

/// Turns search criteria into SQL over the index tables, binding every value (STYLE habit 6).
/// Value semantics follow FHIR R4 §3.1.1.4 for each parameter type.
struct SearchSQLBuilder {
    let keys: SearchParameterKeys
    let tenant: TenantID
    /// What the caller may see: every scope carries it, so filtering happens before paging.
    let grant: Grant
    let baseURL: String
    let dialect: SQLDialectKind
    /// Now, in epoch milliseconds, for the `ap` prefix.
    let now: Int64
    private var aliasCounter = 0

    /// Criteria at or below this rank are selective enough to intersect with the driver.
    static let intersectionRank = 3

    /// The largest string in byte order, for prefix ranges (`value BETWEEN p AND p + max`).
    static let highest = "\u{10FFFF}"

    init(keys: SearchParameterKeys, tenant: TenantID, grant: Grant = .everything, baseURL: String, dialect: SQLDialectKind, now: Int64) {
        self.keys = keys
        self.tenant = tenant
        self.grant = grant
        self.baseURL = baseURL
        self.dialect = dialect
        self.now = now
    }

    mutating func alias(_ prefix: String) -> String {
        aliasCounter += 1
        return "\(prefix)\(aliasCounter)"
    }

    /// Rows of `fhir_resources` aliased `resource` that are live resources of the tenant and
    /// of `type` (or of `types`, or of any type).
    func scope(_ resource: String, type: String?, types: [String] = []) -> SQLQueryString {
        var sql: SQLQueryString = "\(unsafeRaw: resource).tenant_id = \(bind: tenant.rawValue)"
        if let type {
            sql += " AND \(unsafeRaw: resource).resource_type = \(bind: type)"
        } else if !types.isEmpty {
            sql += " AND \(unsafeRaw: resource).resource_type IN (\(binds: types))"
        }
        sql += " AND \(unsafeRaw: resource).deleted = \(bind: false)"
        if let access = GrantSQL(keys: keys, tenant: tenant).condition(grant, on: resource) {
            sql += " AND " + access
        }
        return sql
    }

    /// The predicates of `criteria` over resource rows aliased `resource`.
    mutating func predicates(_ criteria: [SearchCriterion], type: String?, on resource: String) throws(FHIRError) -> [SQLPredicate] {
        var predicates: [SQLPredicate] = []
        for criterion in criteria {
            predicates.append(try predicate(criterion, type: type, on: resource))
        }
        return predicates
    }

    /// The FROM and WHERE of a search over `fhir_resources` aliased `resource`.
    ///
    /// With `driven`, the most selective criterion's index rows come first, as a derived table
    /// joined with CROSS JOIN: SQLite keeps that join order (left to itself without statistics,
    /// it walks a whole type in row order to serve `ORDER BY … LIMIT`, a full scan for a
    /// selective search), while PostgreSQL treats it as a plain join and plans from its
    /// statistics. Without `driven`, every criterion is checked per row while the type is read
    /// in row order, which wins when the criteria match many resources and only a page is read.
    mutating func filter(_ predicates: [SQLPredicate], driven: Bool = true, type: String?, types: [String] = [], on resource: String = "r") -> SearchFilter {
        var conditions = scope(resource, type: type, types: types)
        guard driven, let driver = SQLPredicate.driverIndex(predicates), let table = predicates[driver].driverTable() else {
            for predicate in predicates {
                conditions += " AND (" + predicate.render(on: resource) + ")"
            }
            return SearchFilter(from: "fhir_resources \(unsafeRaw: resource)", conditions: conditions)
        }
        // Other selective criteria (references, identifiers, names…) intersect with the driver
        // over their value indexes, rather than being checked one candidate row at a time.
        var others: [SQLPredicate] = []
        var tables = [table]
        for (index, predicate) in predicates.enumerated() where index != driver {
            if predicate.rank <= Self.intersectionRank, let other = predicate.driverTable() {
                tables.append(other)
            } else {
                others.append(predicate)
            }
        }
        let driverSQL = tables.count == 1 ? table : "(" + tables.map { "SELECT rid FROM " + $0 + " \(unsafeRaw: alias("j"))" }.joined(separator: " INTERSECT ") + ")"
        let derived = alias("d")
        conditions = "\(unsafeRaw: resource).rid = \(unsafeRaw: derived).rid AND " + conditions
        for predicate in others {
            conditions += " AND (" + predicate.render(on: resource) + ")"
        }
        return SearchFilter(from: driverSQL + " \(unsafeRaw: derived) CROSS JOIN fhir_resources \(unsafeRaw: resource)", conditions: conditions)
    }

    mutating func filter(_ criteria: [SearchCriterion], type: String?, types: [String] = [], on resource: String = "r") throws(FHIRError) -> SearchFilter {
        filter(try predicates(criteria, type: type, on: resource), type: type, types: types, on: resource)
    }

    /// Index rows a driving predicate would start from, counted up to `limit + 1`.
    func driverProbe(_ predicates: [SQLPredicate], limit: Int) -> SQLQueryString? {
        guard let driver = SQLPredicate.driverIndex(predicates), case .index(let table, let alias, let pids, let condition, _) = predicates[driver].form else {
            return nil
        }
        return "SELECT COUNT(*) AS n FROM (SELECT 1 FROM \(unsafeRaw: table) \(unsafeRaw: alias) WHERE "
            + SQLPredicate.rows(alias, pids: pids, condition: condition) + " LIMIT \(literal: limit + 1)) p"
    }

    /// Keys of parameter `code` of `type`, or of every type that has it (searches across types).
    func pids(_ type: String?, _ code: String) -> [Int] {
        if let type { return keys.key(type, code).map { [$0] } ?? [] }
        return keys.keys(forCode: code)
    }

    mutating func predicate(_ criterion: SearchCriterion, type: String?, on resource: String) throws(FHIRError) -> SQLPredicate {
        switch criterion {
        case .id(let ids):
            return SQLPredicate(form: .plain("\(unsafeRaw: resource).id IN (\(binds: ids))"), rank: 0)
        case .lastUpdated(let predicates):
            let column = "\(resource).last_updated"
            return SQLPredicate(form: .plain(predicates.map { dateCondition($0, low: column, high: column) }.ored()), rank: 5)
        case .parameter(let definition, let match):
            return try parameter(definition, match, type: type)
        case .chain(let reference, let targets):
            let x = alias("c")
            var alternatives: [SQLQueryString] = []
            for target in targets {
                let t = alias("t")
                let inner = try filter([target.criterion], type: target.type, on: t)
                alternatives.append(
                    """
                    \(unsafeRaw: x).target_type = \(bind: target.type) AND \(unsafeRaw: x).target_id IN (
                        SELECT \(unsafeRaw: t).id FROM \(inner.from) WHERE \(inner.conditions))
                    """)
            }
            return SQLPredicate(
                form: .index(table: "fhir_idx_reference", alias: x, pids: pids(type, reference.code), condition: alternatives.ored(), negated: false),
                rank: 3)
        case .has(let sourceType, let reference, let inner):
            guard let type else { throw .invalid("_has needs a resource type.") }
            let x = alias("h")
            let s = alias("s")
            let sources = try filter([inner], type: sourceType, on: s)
            let sql: SQLQueryString = """
                \(unsafeRaw: resource).id IN (
                    SELECT \(unsafeRaw: x).target_id FROM \(sources.from) CROSS JOIN fhir_idx_reference \(unsafeRaw: x)
                    WHERE \(sources.conditions) AND \(unsafeRaw: x).rid = \(unsafeRaw: s).rid
                    AND \(SQLPredicate.rows(x, pids: pids(sourceType, reference.code), condition: nil)) AND \(unsafeRaw: x).target_type = \(bind: type))
                """
            return SQLPredicate(form: .plain(sql), rank: 3)
        }
    }

    mutating func parameter(_ definition: SearchParameterDefinition, _ match: ParameterMatch, type: String?) throws(FHIRError) -> SQLPredicate {
        let table = Self.table(for: definition.type)
        let x = alias("i")
        let keys = pids(type, definition.code)
        func index(_ condition: SQLQueryString, rank: Int, negated: Bool = false, keysOverride: [Int]? = nil) -> SQLPredicate {
            SQLPredicate(form: .index(table: table, alias: x, pids: keysOverride ?? keys, condition: condition, negated: negated), rank: rank)
        }
        switch match {
        case .missing(let isMissing):
            return SQLPredicate(form: .index(table: table, alias: x, pids: keys, condition: nil, negated: isMissing), rank: 6)
        case .string(let values, let mode):
            switch mode {
            case .startsWith:
                return index(values.map { prefixRange("\(x).value", StringNormalizer.normalize($0)) }.ored(), rank: 3)
            case .exact:
                return index(values.map { "\(unsafeRaw: x).exact = \(bind: $0)" }.ored(), rank: 2)
            case .contains:
                return index(values.map { "\(unsafeRaw: x).value LIKE \(bind: "%" + Self.escapeLike(StringNormalizer.normalize($0)) + "%") ESCAPE '\\'" }.ored(), rank: 6)
            }
        case .token(let values, let mode):
            switch mode {
            case .code, .not:
                // Identifiers name one resource; codes, statuses and categories name many.
                let rank = definition.code.lowercased().hasSuffix("identifier") ? 1 : 4
                return index(values.map { tokenCondition(x, $0) }.ored(), rank: rank, negated: mode == .not)
            case .text:
                return index(values.map { prefixRange("\(x).text", StringNormalizer.normalize($0.code ?? "")) }.ored(), rank: 5)
            case .ofType:
                let ofType = pids(type, IndexEntry.ofTypeCode(definition.code))
                let condition = values.map { "\(unsafeRaw: x).system = \(bind: $0.system ?? "") AND \(unsafeRaw: x).code = \(bind: $0.code ?? "")" }.ored()
                return index(condition, rank: 1, keysOverride: ofType)
            }
        case .date(let predicates):
            return index(predicates.map { dateCondition($0, low: "\(x).low", high: "\(x).high") }.ored(), rank: 4)
        case .number(let predicates):
            return index(predicates.map { numberCondition($0, low: "\(x).value", high: "\(x).value") }.ored(), rank: 4)
        case .quantity(let predicates):
            let low = "COALESCE(\(x).low, -1e308)"
            let high = "COALESCE(\(x).high, 1e308)"
            return index(predicates.map { numberCondition($0.number, low: low, high: high) + unitCondition(x, $0) }.ored(), rank: 4)
        case .reference(let targets):
            return index(targets.map { referenceCondition(x, $0) }.ored(), rank: 1)
        case .uri(let values, let mode):
            switch mode {
            case .exact: return index(values.map { "\(unsafeRaw: x).value = \(bind: $0)" }.ored(), rank: 2)
            case .below: return index(values.map { prefixRange("\(x).value", $0) }.ored(), rank: 3)
            case .above: return index("\(unsafeRaw: x).value IN (\(binds: values.flatMap(Self.uriAncestors)))", rank: 2)
            }
        }
    }

    func prefixRange(_ column: String, _ prefix: String) -> SQLQueryString {
        "\(unsafeRaw: column) >= \(bind: prefix) AND \(unsafeRaw: column) <= \(bind: prefix + Self.highest)"
    }

    func tokenCondition(_ x: String, _ token: TokenValue) -> SQLQueryString {
        switch (token.system, token.code) {
        case (nil, let code?): "\(unsafeRaw: x).code = \(bind: code)"
        case ("", let code?): "\(unsafeRaw: x).code = \(bind: code) AND \(unsafeRaw: x).system IS NULL"
        case (let system?, let code?): "\(unsafeRaw: x).code = \(bind: code) AND \(unsafeRaw: x).system = \(bind: system)"
        case (let system?, nil): "\(unsafeRaw: x).system = \(bind: system)"
        case (nil, nil): "1 = 0"
        }
    }

    /// Range comparisons of FHIR R4 §3.1.1.4.4: the target range [low, high] against the
    /// search range [sl, sh].
    func dateCondition(_ predicate: DatePredicate, low: String, high: String) -> SQLQueryString {
        let sl = predicate.low
        let sh = predicate.high
        switch predicate.prefix {
        case .eq: return "\(unsafeRaw: low) >= \(bind: sl) AND \(unsafeRaw: high) <= \(bind: sh)"
        case .ne: return "(\(unsafeRaw: low) < \(bind: sl) OR \(unsafeRaw: high) > \(bind: sh))"
        case .gt: return "\(unsafeRaw: high) > \(bind: sh)"
        case .lt: return "\(unsafeRaw: low) < \(bind: sl)"
        case .ge: return "(\(unsafeRaw: high) > \(bind: sh) OR (\(unsafeRaw: low) >= \(bind: sl) AND \(unsafeRaw: high) <= \(bind: sh)))"
        case .le: return "(\(unsafeRaw: low) < \(bind: sl) OR (\(unsafeRaw: low) >= \(bind: sl) AND \(unsafeRaw: high) <= \(bind: sh)))"
        case .sa: return "\(unsafeRaw: low) > \(bind: sh)"
        case .eb: return "\(unsafeRaw: high) < \(bind: sl)"
        case .ap:
            // Approximately: within 10% of the distance between the value and now, at least a day.
            let distance = abs(now - (sl / 2 + sh / 2))
            let slack = max(distance / 10, 86_400_000)
            return "\(unsafeRaw: low) <= \(bind: sh &+ slack) AND \(unsafeRaw: high) >= \(bind: sl &- slack)"
        }
    }

    /// Number comparisons of FHIR R4 §3.1.1.4.1: `eq` uses the precision range of the value,
    /// the others the exact value.
    func numberCondition(_ predicate: NumberPredicate, low: String, high: String) -> SQLQueryString {
        switch predicate.prefix {
        case .eq: return "\(unsafeRaw: low) >= \(bind: predicate.low) AND \(unsafeRaw: high) < \(bind: predicate.high)"
        case .ne: return "(\(unsafeRaw: low) < \(bind: predicate.low) OR \(unsafeRaw: high) >= \(bind: predicate.high))"
        case .gt, .sa: return "\(unsafeRaw: high) > \(bind: predicate.value)"
        case .lt, .eb: return "\(unsafeRaw: low) < \(bind: predicate.value)"
        case .ge: return "\(unsafeRaw: high) >= \(bind: predicate.value)"
        case .le: return "\(unsafeRaw: low) <= \(bind: predicate.value)"
        case .ap:
            let slack = abs(predicate.value) * 0.1
            return "\(unsafeRaw: low) <= \(bind: predicate.value + slack) AND \(unsafeRaw: high) >= \(bind: predicate.value - slack)"
        }
    }

    func unitCondition(_ x: String, _ predicate: QuantityPredicate) -> SQLQueryString {
        switch (predicate.system, predicate.code) {
        case (let system?, let code?): " AND \(unsafeRaw: x).system = \(bind: system) AND \(unsafeRaw: x).code = \(bind: code)"
        case (nil, let code?): " AND (\(unsafeRaw: x).code = \(bind: code) OR \(unsafeRaw: x).unit = \(bind: code))"
        case (let system?, nil): " AND \(unsafeRaw: x).system = \(bind: system)"
        case (nil, nil): ""
        }
    }

    func referenceCondition(_ x: String, _ target: ReferenceTarget) -> SQLQueryString {
        switch target {
        case .local(let type?, let id):
            return "\(unsafeRaw: x).target_id = \(bind: id) AND \(unsafeRaw: x).target_type = \(bind: type)"
        case .local(nil, let id):
            return "\(unsafeRaw: x).target_id = \(bind: id)"
        case .url(let url):
            if case .reference(let type?, let id?, _)? = ResourceIndexer.referenceValue(url, baseURL: baseURL) {
                return "\(unsafeRaw: x).target_id = \(bind: id) AND \(unsafeRaw: x).target_type = \(bind: type)"
            }
            let canonical = url.split(separator: "|", maxSplits: 1).first.map(String.init) ?? url
            return "\(unsafeRaw: x).url = \(bind: canonical)"
        }
    }

    static func table(for type: SearchParameterType) -> String {
        IndexTable(parameterType: type).name
    }

    static func escapeLike(_ value: String) -> String {
        var escaped = ""
        for character in value {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// `http://a.org/fhir/ValueSet/1` and each of its parent paths, for `:above`.
    static func uriAncestors(_ uri: String) -> [String] {
        var result = [uri]
        var current = uri
        while let slash = current.lastIndex(of: "/"), current[..<slash].hasSuffix("/") == false, current.distance(from: current.startIndex, to: slash) > 8 {
            current = String(current[..<slash])
            result.append(current)
        }
        return result
    }
}

/// FROM and WHERE clauses of a search.
struct SearchFilter {
    let from: SQLQueryString
    let conditions: SQLQueryString
}
