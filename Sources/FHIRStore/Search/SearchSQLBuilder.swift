import Core
import FHIR
import SQLKit
import Storage

/// Turns search criteria into SQL over the index tables, binding every value (STYLE habit 6).
/// Value semantics follow FHIR R4 §3.1.1.4 for each parameter type.
struct SearchSQLBuilder {
    let keys: SearchParameterKeys
    let tenant: TenantID
    let baseURL: String
    let dialect: SQLDialectKind
    /// Now, in epoch milliseconds, for the `ap` prefix.
    let now: Int64
    private var aliasCounter = 0

    /// The largest string in byte order, for prefix ranges (`value BETWEEN p AND p + max`).
    static let highest = "\u{10FFFF}"

    init(keys: SearchParameterKeys, tenant: TenantID, baseURL: String, dialect: SQLDialectKind, now: Int64) {
        self.keys = keys
        self.tenant = tenant
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
        return sql
    }

    mutating func conditions(_ criteria: [SearchCriterion], type: String?, on resource: String) throws(FHIRError) -> SQLQueryString {
        var predicates: [SQLPredicate] = []
        for criterion in criteria {
            predicates.append(try predicate(criterion, type: type, on: resource))
        }
        return SQLPredicate.conjunction(predicates, on: resource)
    }

    func pidCondition(_ alias: String, type: String?, code: String) -> SQLQueryString {
        if let type {
            return "\(unsafeRaw: alias).pid = \(bind: keys.key(type, code) ?? -1)"
        }
        let pids = keys.keys(forCode: code)
        return pids.isEmpty ? "1 = 0" : "\(unsafeRaw: alias).pid IN (\(binds: pids))"
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
                let inner = try conditions([target.criterion], type: target.type, on: t)
                alternatives.append(
                    """
                    \(unsafeRaw: x).target_type = \(bind: target.type) AND \(unsafeRaw: x).target_id IN (
                        SELECT \(unsafeRaw: t).id FROM fhir_resources \(unsafeRaw: t) WHERE \(scope(t, type: target.type)) AND \(inner))
                    """)
            }
            let condition = pidCondition(x, type: type, code: reference.code) + " AND " + alternatives.ored()
            return SQLPredicate(form: .index(table: "fhir_idx_reference", alias: x, condition: condition, negated: false), rank: 3)
        case .has(let sourceType, let reference, let inner):
            guard let type else { throw .invalid("_has needs a resource type.") }
            let x = alias("h")
            let s = alias("s")
            let innerSQL = try conditions([inner], type: sourceType, on: s)
            let sql: SQLQueryString = """
                \(unsafeRaw: resource).id IN (
                    SELECT \(unsafeRaw: x).target_id FROM fhir_idx_reference \(unsafeRaw: x) JOIN fhir_resources \(unsafeRaw: s) ON \(unsafeRaw: s).rid = \(unsafeRaw: x).rid
                    WHERE \(pidCondition(x, type: sourceType, code: reference.code)) AND \(unsafeRaw: x).target_type = \(bind: type)
                    AND \(scope(s, type: sourceType)) AND \(innerSQL))
                """
            return SQLPredicate(form: .plain(sql), rank: 3)
        }
    }

    mutating func parameter(_ definition: SearchParameterDefinition, _ match: ParameterMatch, type: String?) throws(FHIRError) -> SQLPredicate {
        let table = Self.table(for: definition.type)
        let x = alias("i")
        let pid = pidCondition(x, type: type, code: definition.code)
        func index(_ condition: SQLQueryString, rank: Int, negated: Bool = false, pidOverride: SQLQueryString? = nil) -> SQLPredicate {
            SQLPredicate(form: .index(table: table, alias: x, condition: (pidOverride ?? pid) + " AND " + condition, negated: negated), rank: rank)
        }
        switch match {
        case .missing(let isMissing):
            return SQLPredicate(form: .index(table: table, alias: x, condition: pid, negated: isMissing), rank: 6)
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
                return index(values.map { tokenCondition(x, $0) }.ored(), rank: 2, negated: mode == .not)
            case .text:
                return index(values.map { prefixRange("\(x).text", StringNormalizer.normalize($0.code ?? "")) }.ored(), rank: 5)
            case .ofType:
                let ofType = pidCondition(x, type: type, code: IndexEntry.ofTypeCode(definition.code))
                let condition = values.map { "\(unsafeRaw: x).system = \(bind: $0.system ?? "") AND \(unsafeRaw: x).code = \(bind: $0.code ?? "")" }.ored()
                return index(condition, rank: 1, pidOverride: ofType)
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
        switch type {
        case .string: "fhir_idx_string"
        case .token: "fhir_idx_token"
        case .date: "fhir_idx_date"
        case .reference: "fhir_idx_reference"
        case .number: "fhir_idx_number"
        case .quantity: "fhir_idx_quantity"
        case .uri, .composite, .special: "fhir_idx_uri"
        }
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
