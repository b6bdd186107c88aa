import Core
import FHIR
import SQLKit
import Storage

/// The numeric keys (`pid`) under which index rows name their search parameter. Every
/// parameter of the registry gets a row in `fhir_search_params` at start (inserts that
/// another process already made are ignored), then the whole table is held in memory.
public struct SearchParameterKeys: Sendable {
    struct Name: Hashable, Sendable {
        let type: String
        let code: String
    }

    private let keys: [Name: Int]

    /// Registers every parameter and loads the keys.
    public static func load(store: any SQLStore, registry: SearchParameterRegistry) async throws -> SearchParameterKeys {
        var names: [Name] = []
        for type in registry.model.resourceTypes {
            for parameter in registry.parameters(for: type) where !ResourceIndexer.columnParameters.contains(parameter.code) {
                names.append(Name(type: type, code: parameter.code))
                if parameter.type == .token {
                    names.append(Name(type: type, code: IndexEntry.ofTypeCode(parameter.code)))
                }
            }
        }
        var keys = try await read(store)
        let missing = names.filter { keys[$0] == nil }
        if !missing.isEmpty {
            try await store.transaction { database in
                for chunk in missing.chunks(of: 400) {
                    var insert = SQLQueryString("INSERT INTO fhir_search_params (resource_type, code) VALUES ")
                    insert += chunk.map { SQLQueryString("(\(bind: $0.type), \(bind: $0.code))") }.joined(separator: ", ")
                    insert += " ON CONFLICT DO NOTHING"
                    try await database.raw(insert).run()
                }
            }
            keys = try await read(store)
        }
        return SearchParameterKeys(keys: keys)
    }

    static func read(_ store: any SQLStore) async throws -> [Name: Int] {
        try await store.read { database in
            var keys: [Name: Int] = [:]
            for row in try await database.raw("SELECT pid, resource_type, code FROM fhir_search_params").all() {
                let name = Name(type: try row.decode(column: "resource_type", as: String.self), code: try row.decode(column: "code", as: String.self))
                keys[name] = try row.decode(column: "pid", as: Int.self)
            }
            return keys
        }
    }

    public func key(_ type: String, _ code: String) -> Int? {
        keys[Name(type: type, code: code)]
    }

    /// Keys of `code` for every type that has it (searches across all types).
    public func keys(forCode code: String) -> [Int] {
        keys.filter { $0.key.code == code }.map(\.value).sorted()
    }
}
