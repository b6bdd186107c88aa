import Core
import FHIR
import SQLKit
import Storage

/// A sort key as SQL: an expression of the resource row and the kind of value it yields.
struct SortColumn {
    let expression: SQLQueryString
    let kind: SortValueKind
    let descending: Bool
}

extension FHIRStore {
    /// Matches of the driving criterion above which a page is read by walking the type.
    static let narrowDriver = 5000

    public func search(_ query: SearchQuery, as caller: Caller) async throws -> SearchResult {
        try await database.read { database in
            try await search(query, caller: caller, on: database)
        }
    }

    func searchBuilder(_ caller: Caller) -> SearchSQLBuilder {
        SearchSQLBuilder(keys: keys, tenant: caller.tenant, grant: caller.read, baseURL: baseURL, dialect: dialect, now: now())
    }

    func search(_ query: SearchQuery, caller: Caller, on database: any SQLDatabase) async throws -> SearchResult {
        let tenant = caller.tenant
        var builder = searchBuilder(caller)
        let predicates = try builder.predicates(query.criteria, type: query.resourceType, on: "r")
        let filter = builder.filter(predicates, type: query.resourceType, types: query.types)
        // A page is read by starting from the most selective criterion when it matches few
        // rows, and by walking the type in row order (stopping after a page) when it matches
        // many: past a few thousand matches the walk finds a page sooner.
        var pageFilter = filter
        if query.sort.isEmpty, let probe = builder.driverProbe(predicates, limit: Self.narrowDriver) {
            let rows = try await database.raw(probe).first()?.decode(column: "n", as: Int.self) ?? 0
            if rows > Self.narrowDriver {
                pageFilter = builder.filter(predicates, driven: false, type: query.resourceType, types: query.types)
            }
        }
        var result = SearchResult()
        result.warnings = query.ignored.map {
            OutcomeIssue(.warning, .notSupported, "The parameter \($0) is not known here and was ignored.")
        }
        if query.summary == .count || query.count == 0 {
            if query.total != TotalMode.none { result.total = try await count(filter, on: database) }
            return result
        }
        let columns = query.sort.map { sortColumn($0, type: query.resourceType) }
        let signature = query.sort.map { ($0.descending ? "-" : "") + $0.code }.joined(separator: ",")
        let cursor = try query.cursor.map { cursor throws(FHIRError) in
            try SearchCursor.decode(cursor, kinds: columns.map(\.kind), signature: signature)
        }
        let rows = try await database.raw(pageQuery(filter: pageFilter, columns: columns, cursor: cursor, limit: query.count + 1)).all()
        var rids = try rows.map { try $0.decode(column: "rid", as: Int64.self) }
        if rids.count > query.count {
            rids.removeLast()
            let last = rows[query.count - 1]
            var values: [SearchCursor.Value] = []
            for (index, column) in columns.enumerated() {
                switch column.kind {
                case .text: values.append(.text(try last.decode(column: "s\(index)", as: String.self)))
                case .integer: values.append(.integer(try last.decode(column: "s\(index)", as: Int64.self)))
                case .real: values.append(.real(try last.decode(column: "s\(index)", as: Double.self)))
                }
            }
            result.nextCursor = SearchCursor(values: values, rid: rids[rids.count - 1], signature: signature).encoded()
        }
        result.matches = try await loadCurrent(rids, tenant: tenant, on: database)
        switch query.total {
        case .none?:
            break
        default:
            if cursor == nil, result.nextCursor == nil {
                result.total = result.matches.count
            } else {
                result.total = try await count(filter, on: database)
            }
        }
        if !query.includes.isEmpty || !query.revIncludes.isEmpty {
            result.included = try await included(from: result.matches, query: query, caller: caller, on: database)
        }
        return result
    }

    func pageQuery(filter: SearchFilter, columns: [SortColumn], cursor: SearchCursor?, limit: Int) -> SQLQueryString {
        if columns.isEmpty {
            var sql: SQLQueryString = "SELECT r.rid FROM \(filter.from) WHERE \(filter.conditions)"
            if let cursor { sql += " AND r.rid > \(bind: cursor.rid)" }
            return sql + " ORDER BY r.rid LIMIT \(literal: limit)"
        }
        var sql: SQLQueryString = "SELECT t.* FROM (SELECT r.rid"
        for (index, column) in columns.enumerated() {
            sql += ", " + column.expression + " AS s\(unsafeRaw: String(index))"
        }
        sql += " FROM \(filter.from) WHERE \(filter.conditions)) t"
        if let cursor {
            // (s0 > v0) OR (s0 = v0 AND s1 > v1) OR … OR (all equal AND rid > last rid)
            var alternatives: [SQLQueryString] = []
            for position in 0...columns.count {
                var terms: [SQLQueryString] = []
                for index in 0..<position {
                    terms.append("t.s\(unsafeRaw: String(index)) = " + Self.bind(cursor.values[index]))
                }
                if position < columns.count {
                    let op = columns[position].descending ? "<" : ">"
                    terms.append("t.s\(unsafeRaw: String(position)) \(unsafeRaw: op) " + Self.bind(cursor.values[position]))
                } else {
                    terms.append("t.rid > \(bind: cursor.rid)")
                }
                alternatives.append(terms.joined(separator: " AND "))
            }
            sql += " WHERE " + alternatives.ored()
        }
        let order = columns.enumerated().map { index, column in "t.s\(index)\(column.descending ? " DESC" : "")" }
        return sql + " ORDER BY \(unsafeRaw: (order + ["t.rid"]).joined(separator: ", ")) LIMIT \(literal: limit)"
    }

    static func bind(_ value: SearchCursor.Value) -> SQLQueryString {
        switch value {
        case .text(let text): "\(bind: text)"
        case .integer(let value): "\(bind: value)"
        case .real(let value): "\(bind: value)"
        }
    }

    /// A sort key as an expression of row `r`. Resources without a value sort last in both
    /// directions, through a sentinel.
    func sortColumn(_ key: SortKey, type: String?) -> SortColumn {
        let collate = dialect == .postgres ? " COLLATE \"C\"" : ""
        guard let parameter = key.parameter else {
            if key.code == "_id" {
                return SortColumn(expression: "r.id\(unsafeRaw: collate)", kind: .text, descending: key.descending)
            }
            return SortColumn(expression: "r.last_updated", kind: .integer, descending: key.descending)
        }
        let table = SearchSQLBuilder.table(for: parameter.type)
        let aggregate = key.descending ? "MAX" : "MIN"
        let column: String
        let kind: SortValueKind
        switch parameter.type {
        case .string, .uri: (column, kind) = ("x.value", .text)
        case .token: (column, kind) = ("x.code", .text)
        case .reference: (column, kind) = ("COALESCE(x.target_id, x.url)", .text)
        case .date: (column, kind) = (key.descending ? "x.high" : "x.low", .integer)
        case .number: (column, kind) = ("x.value", .real)
        case .quantity: (column, kind) = (key.descending ? "x.high" : "x.low", .real)
        case .composite, .special: (column, kind) = ("NULL", .text)
        }
        let pid = type.flatMap { keys.key($0, parameter.code) } ?? -1
        let sentinel: SQLQueryString
        switch kind {
        case .text: sentinel = key.descending ? "\(bind: "")" : "\(bind: SearchSQLBuilder.highest)"
        case .integer: sentinel = key.descending ? "\(bind: Int64.min)" : "\(bind: Int64.max)"
        case .real: sentinel = key.descending ? "\(bind: -1e308)" : "\(bind: 1e308)"
        }
        let expression: SQLQueryString =
            "COALESCE((SELECT \(unsafeRaw: aggregate)(\(unsafeRaw: column)) FROM \(unsafeRaw: table) x WHERE x.rid = r.rid AND x.pid = \(bind: pid)), "
            + sentinel + ")\(unsafeRaw: kind == .text ? collate : "")"
        return SortColumn(expression: expression, kind: kind, descending: key.descending)
    }

    func count(_ filter: SearchFilter, on database: any SQLDatabase) async throws -> Int {
        let row = try await database.raw("SELECT COUNT(*) AS total FROM \(filter.from) WHERE \(filter.conditions)").first()
        return try row?.decode(column: "total", as: Int.self) ?? 0
    }

    /// Ids of live resources of `type` matching conditional-operation criteria (FHIR R4
    /// §3.1.0.8): at most `limit` of them. Unknown parameters are refused rather than ignored,
    /// because ignoring one would widen what a conditional update or delete touches.
    func matching(_ type: String, criteria: [(String, String)], limit: Int, caller: Caller, on database: any SQLDatabase) async throws -> [(rid: Int64, id: String)] {
        let controls: Set<String> = ["_count", "_sort", "_summary", "_elements", "_total", "_include", "_revinclude", "_format", "_pretty"]
        let filtered = criteria.filter { !controls.contains($0.0.split(separator: ":").first.map(String.init) ?? $0.0) }
        guard !filtered.isEmpty else {
            throw FHIRError.invalid("A conditional operation needs search parameters to select the resource.")
        }
        let query = try SearchQuery.parse(resourceType: type, parameters: filtered, handling: .strict, registry: registry)
        var builder = searchBuilder(caller)
        let filter = try builder.filter(query.criteria, type: type)
        let rows = try await database.raw("SELECT r.rid, r.id FROM \(filter.from) WHERE \(filter.conditions) ORDER BY r.rid LIMIT \(literal: limit)").all()
        return try rows.map { (try $0.decode(column: "rid", as: Int64.self), try $0.decode(column: "id", as: String.self)) }
    }

    /// Resources named by `_include` and `_revinclude`, following `:iterate` up to a few levels.
    func included(from matches: [StoredResource], query: SearchQuery, caller: Caller, on database: any SQLDatabase) async throws -> [StoredResource] {
        let tenant = caller.tenant
        let access = grantSQL(tenant)
        let limit = 1000
        var seen = Set(matches.map(\.rid))
        var included: [StoredResource] = []
        var frontier = matches
        var round = 0
        while !frontier.isEmpty, round < 4, included.count < limit {
            var found: [Int64] = []
            for directive in query.includes where round == 0 || directive.iterate {
                let sources = frontier.filter { $0.type == directive.sourceType }.map(\.rid)
                guard !sources.isEmpty else { continue }
                let pids = referencePIDs(directive)
                guard !pids.isEmpty else { continue }
                var sql: SQLQueryString = """
                    SELECT DISTINCT t.rid FROM fhir_idx_reference x CROSS JOIN fhir_resources t
                    WHERE x.rid IN (\(binds: sources)) AND x.pid IN (\(binds: pids))
                    AND t.tenant_id = \(bind: tenant.rawValue) AND t.resource_type = x.target_type AND t.id = x.target_id AND t.deleted = \(bind: false)
                    """
                if let target = directive.targetType { sql += " AND x.target_type = \(bind: target)" }
                if let visible = access.condition(caller.read, on: "t") { sql += " AND " + visible }
                found += try await database.raw(sql).all().map { try $0.decode(column: "rid", as: Int64.self) }
            }
            for directive in query.revIncludes where round == 0 || directive.iterate {
                let pids = referencePIDs(directive)
                guard !pids.isEmpty else { continue }
                let byType = Dictionary(grouping: frontier, by: \.type)
                let targets = byType.map { type, resources -> SQLQueryString in
                    "x.target_type = \(bind: type) AND x.target_id IN (\(binds: resources.map(\.id)))"
                }.ored()
                var sql: SQLQueryString = """
                    SELECT DISTINCT s.rid FROM fhir_idx_reference x CROSS JOIN fhir_resources s
                    WHERE x.pid IN (\(binds: pids)) AND \(targets) AND s.rid = x.rid AND s.tenant_id = \(bind: tenant.rawValue) AND s.deleted = \(bind: false)
                    """
                if let visible = access.condition(caller.read, on: "s") { sql += " AND " + visible }
                found += try await database.raw(sql).all().map { try $0.decode(column: "rid", as: Int64.self) }
            }
            let fresh = found.filter { seen.insert($0).inserted }.prefix(limit - included.count)
            frontier = try await loadCurrent(Array(fresh), tenant: tenant, on: database)
            included += frontier
            round += 1
            if !(query.includes + query.revIncludes).contains(where: \.iterate) { break }
        }
        return included
    }

    func referencePIDs(_ directive: IncludeDirective) -> [Int] {
        if let code = directive.parameterCode {
            return keys.key(directive.sourceType, code).map { [$0] } ?? []
        }
        return registry.parameters(for: directive.sourceType).filter { $0.type == .reference }.compactMap {
            keys.key(directive.sourceType, $0.code)
        }
    }
}
