import Core
import FHIR
import SQLKit

extension FHIRStore {
    /// Largest number of bound values in one statement (SQLite allows 32 766).
    static let bindsPerStatement = 8000

    /// Inserts the index rows of freshly stored versions, one multi-row INSERT per table.
    func writeIndex(_ items: [(rid: Int64, write: PreparedWrite)], on database: any SQLDatabase) async throws {
        var rows: [IndexTable: [[any Encodable & Sendable]]] = [:]
        for (rid, write) in items {
            for entry in write.entries {
                guard let pid = keys.key(write.type, entry.code) else { continue }
                let table = IndexTable.table(of: entry.value)
                rows[table, default: []].append([rid, pid] + Self.columns(of: entry.value))
            }
            for patient in write.compartments {
                rows[.compartments, default: []].append([rid, "Patient", patient])
            }
        }
        for (table, values) in rows.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let width = values[0].count
            let perStatement = max(1, Self.bindsPerStatement / width)
            for chunk in values.chunks(of: perStatement) {
                var insert: SQLQueryString = "INSERT INTO \(unsafeRaw: table.name) (\(unsafeRaw: table.columns)) VALUES "
                insert += chunk.map { SQLQueryString("(\(binds: $0))") }.joined(separator: ", ")
                try await database.raw(insert).run()
            }
        }
    }

    /// Removes a resource's index rows from the tables its mask names.
    func clearIndex(rid: Int64, tables mask: Int, on database: any SQLDatabase) async throws {
        for table in IndexTable.tables(in: mask) {
            try await database.raw("DELETE FROM \(unsafeRaw: table.name) WHERE rid = \(bind: rid)").run()
        }
    }

    static func columns(of value: IndexValue) -> [any Encodable & Sendable] {
        switch value {
        case .string(let normalized, let exact): [normalized, String(exact.prefix(StringNormalizer.maximumIndexedLength))]
        case .token(let system, let code, let text): [system, code, text]
        case .date(let low, let high): [low, high]
        case .reference(let type, let id, let url): [type, id, url]
        case .number(let value): [value]
        case .quantity(let low, let high, let system, let code, let unit): [system, code, unit, low, high]
        case .uri(let value): [value]
        }
    }
}

extension IndexTable {
    /// Column list matching `FHIRStore.columns(of:)`.
    var columns: String {
        switch self {
        case .string: "rid, pid, value, exact"
        case .token: "rid, pid, system, code, text"
        case .date: "rid, pid, low, high"
        case .reference: "rid, pid, target_type, target_id, url"
        case .number: "rid, pid, value"
        case .quantity: "rid, pid, system, code, unit, low, high"
        case .uri: "rid, pid, value"
        case .compartments: "rid, compartment_type, compartment_id"
        }
    }
}
