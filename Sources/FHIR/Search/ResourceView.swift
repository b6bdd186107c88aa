/// Reduced views of a resource for `_summary` and `_elements` (FHIR R4 §3.1.1.5.7, §3.1.1.5.8).
/// A reduced resource carries the SUBSETTED tag so that no client mistakes it for the whole.
public enum ResourceView {
    static let subsettedTag: JSON = [
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED", "display": "subsetted",
    ]

    public static func summary(_ resource: JSON, mode: SummaryMode, model: ElementModel = .r4) -> JSON {
        guard case .object(let object) = resource, let type = object["resourceType"]?.stringValue,
            let definition = model.type(type)
        else { return resource }
        switch mode {
        case .false, .count:
            return resource
        case .data:
            var reduced = object
            reduced["text"] = nil
            return tagged(.object(reduced))
        case .text:
            var reduced = JSONObject()
            for (key, value) in object where ["resourceType", "id", "meta", "text"].contains(key) || isMandatory(key, definition) {
                reduced[key] = value
            }
            return tagged(.object(reduced))
        case .true:
            return tagged(.object(summarize(object, definition: definition, model: model)))
        }
    }

    public static func elements(_ resource: JSON, keep names: [String], model: ElementModel = .r4) -> JSON {
        guard case .object(let object) = resource, let type = object["resourceType"]?.stringValue,
            let definition = model.type(type)
        else { return resource }
        let wanted = Set(names.map { $0.split(separator: ".").last.map(String.init) ?? $0 })
        var reduced = JSONObject()
        for (key, value) in object {
            let name = key.hasPrefix("_") ? String(key.dropFirst()) : key
            let element = definition.members[name]?.element
            if ["resourceType", "id", "meta"].contains(key) || wanted.contains(name) || element.map({ wanted.contains($0.baseName) }) == true
                || isMandatory(name, definition)
            {
                reduced[key] = value
            }
        }
        return tagged(.object(reduced))
    }

    static func isMandatory(_ key: String, _ definition: TypeDefinition) -> Bool {
        definition.members[key]?.element.isRequired == true
    }

    static func summarize(_ object: JSONObject, definition: TypeDefinition, model: ElementModel) -> JSONObject {
        var reduced = JSONObject()
        for (key, value) in object {
            if key == "resourceType" {
                reduced[key] = value
                continue
            }
            let name = key.hasPrefix("_") ? String(key.dropFirst()) : key
            guard let (element, type) = definition.members[name], element.isSummary || element.isRequired else { continue }
            if let child = model.type(type), child.kind == .backbone {
                reduced[key] = mapItems(value) { .object(summarize($0, definition: child, model: model)) }
            } else {
                reduced[key] = value
            }
        }
        return reduced
    }

    static func mapItems(_ value: JSON, _ transform: (JSONObject) -> JSON) -> JSON {
        switch value {
        case .object(let object): transform(object)
        case .array(let items): .array(items.map { $0.objectValue.map(transform) ?? $0 })
        default: value
        }
    }

    static func tagged(_ resource: JSON) -> JSON {
        guard case .object(var object) = resource else { return resource }
        var meta = object["meta"]?.objectValue ?? JSONObject()
        var tags = meta["tag"]?.arrayValue ?? []
        if !tags.contains(where: { $0["code"] == "SUBSETTED" }) { tags.append(subsettedTag) }
        meta["tag"] = .array(tags)
        object.set("meta", .object(meta), after: "id")
        return .object(object)
    }
}
