import Core
import FHIR

/// A version ready to store: the final JSON (id and meta set), its bytes, and its index.
struct PreparedWrite: Sendable {
    let type: String
    let id: String
    let version: Int
    let lastUpdated: Int64
    let json: JSON
    let body: [UInt8]
    let entries: [IndexEntry]
    let compartments: [String]

    /// Bit set of the index tables this version has rows in.
    var indexTables: Int {
        var mask = 0
        for entry in entries { mask |= IndexTable.table(of: entry.value).bit }
        if !compartments.isEmpty { mask |= IndexTable.compartments.bit }
        return mask
    }
}

extension IndexTable {
    /// The table holding the values of a parameter type (composite and special parameters are
    /// not indexed; their name is never queried).
    init(parameterType: SearchParameterType) {
        switch parameterType {
        case .string: self = .string
        case .token: self = .token
        case .date: self = .date
        case .reference: self = .reference
        case .number: self = .number
        case .quantity: self = .quantity
        case .uri, .composite, .special: self = .uri
        }
    }

    static func table(of value: IndexValue) -> IndexTable {
        switch value {
        case .string: .string
        case .token: .token
        case .date: .date
        case .reference: .reference
        case .number: .number
        case .quantity: .quantity
        case .uri: .uri
        }
    }
}

extension FHIRStore {
    /// Stamps `id`, `meta.versionId` and `meta.lastUpdated` (FHIR R4 §3.1.0.1.9: the server
    /// owns them), puts `resourceType`, `id` and `meta` first, and extracts the index.
    func prepare(_ resource: JSON, type: String, id: String, version: Int, lastUpdated: Int64) -> PreparedWrite {
        let input = resource.objectValue ?? JSONObject()
        var meta = JSONObject()
        meta["versionId"] = .string(String(version))
        meta["lastUpdated"] = .string(FHIRDateTime.instantString(epochMillis: lastUpdated))
        for (key, value) in input["meta"]?.objectValue ?? JSONObject() where key != "versionId" && key != "lastUpdated" {
            meta[key] = value
        }
        var object = JSONObject()
        object["resourceType"] = .string(type)
        object["id"] = .string(id)
        object["meta"] = .object(meta)
        for (key, value) in input where key != "resourceType" && key != "id" && key != "meta" {
            object[key] = value
        }
        let json = JSON.object(object)
        let entries = indexer.index(json)
        return PreparedWrite(
            type: type, id: id, version: version, lastUpdated: lastUpdated, json: json, body: JSONWriter.bytes(json),
            entries: entries, compartments: indexer.patientCompartments(of: json, type: type, id: id, entries: entries))
    }
}
