/// Extracts the search index of a resource: every value of every search parameter of its
/// type, by evaluating the parameters' FHIRPath expressions and mapping each datatype to
/// index values as FHIR R4 search §3.1.1.4 prescribes for the parameter's type.
public struct ResourceIndexer: Sendable {
    /// Parameters stored as columns of the resource row rather than in index tables.
    public static let columnParameters: Set<String> = ["_id", "_lastUpdated"]

    let registry: SearchParameterRegistry
    let evaluator: FHIRPathEvaluator
    /// This server's FHIR base (`http://host/fhir`): absolute references to it are indexed as
    /// local ones.
    let baseURL: String?

    public init(registry: SearchParameterRegistry = .r4, baseURL: String? = nil) {
        self.registry = registry
        self.evaluator = FHIRPathEvaluator(model: registry.model)
        self.baseURL = baseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    public func index(_ resource: JSON) -> [IndexEntry] {
        guard let type = resource["resourceType"]?.stringValue else { return [] }
        var entries: [IndexEntry] = []
        var seen = Set<IndexEntry>()
        for parameter in registry.parameters(for: type) where !Self.columnParameters.contains(parameter.code) {
            for node in evaluator.evaluate(parameter.expression, on: resource) {
                for entry in values(of: node, for: parameter) where seen.insert(entry).inserted {
                    entries.append(entry)
                }
            }
        }
        return entries
    }

    /// Ids of the patients whose compartment holds the resource (FHIR R4 §3.1.3.3).
    public func patientCompartments(of resource: JSON, type: String, id: String, entries: [IndexEntry]) -> [String] {
        var patients: [String] = []
        if type == "Patient" { patients.append(id) }
        let parameters = Set(PatientCompartment.parameters[type] ?? [])
        for entry in entries where parameters.contains(entry.code) {
            if case .reference("Patient", let target?, _) = entry.value, !patients.contains(target) {
                patients.append(target)
            }
        }
        return patients
    }

    func values(of node: FHIRPathNode, for parameter: SearchParameterDefinition) -> [IndexEntry] {
        let code = parameter.code
        switch parameter.type {
        case .string: return strings(of: node).map { IndexEntry(code: code, value: .string(normalized: StringNormalizer.normalize($0), exact: $0)) }
        case .token: return tokens(of: node, code: code)
        case .date: return dates(of: node).map { IndexEntry(code: code, value: .date(low: $0.lowerBound, high: $0.upperBound)) }
        case .reference: return reference(of: node).map { [IndexEntry(code: code, value: $0)] } ?? []
        case .number:
            guard let value = node.value.numberValue?.doubleValue else { return [] }
            return [IndexEntry(code: code, value: .number(value))]
        case .quantity: return quantity(of: node).map { [IndexEntry(code: code, value: $0)] } ?? []
        case .uri:
            guard let uri = node.value.stringValue else { return [] }
            return [IndexEntry(code: code, value: .uri(uri))]
        case .composite, .special: return []
        }
    }

    // MARK: string

    func strings(of node: FHIRPathNode) -> [String] {
        if let string = node.value.stringValue { return [string] }
        guard case .object(let object) = node.value else { return [] }
        let parts: [String]
        switch node.type {
        case "HumanName": parts = ["text", "family", "given", "prefix", "suffix"]
        case "Address": parts = ["text", "line", "city", "district", "state", "postalCode", "country"]
        default: parts = object.keys.filter { $0 != "id" && $0 != "extension" && $0 != "url" }
        }
        var result: [String] = []
        for part in parts {
            switch object[part] {
            case .string(let value)?: result.append(value)
            case .array(let items)?: result += items.compactMap(\.stringValue)
            default: break
            }
        }
        return result
    }

    // MARK: token

    func tokens(of node: FHIRPathNode, code: String) -> [IndexEntry] {
        func token(_ system: String?, _ value: String?, _ text: String?) -> IndexEntry {
            IndexEntry(code: code, value: .token(system: system, code: value, text: text.map { StringNormalizer.normalize($0) }))
        }
        switch node.value {
        case .string(let value): return [token(nil, value, nil)]
        case .bool(let value): return [token(nil, value ? "true" : "false", nil)]
        case .number(let value): return [token(nil, value.text, nil)]
        case .object(let object):
            switch node.type {
            case "Coding":
                return [token(object["system"]?.stringValue, object["code"]?.stringValue, object["display"]?.stringValue)]
            case "CodeableConcept":
                var result = (object["coding"]?.arrayValue ?? []).compactMap { coding -> IndexEntry? in
                    guard coding["code"] != nil || coding["system"] != nil else { return nil }
                    return token(coding["system"]?.stringValue, coding["code"]?.stringValue, coding["display"]?.stringValue)
                }
                if let text = object["text"]?.stringValue { result.append(token(nil, nil, text)) }
                return result
            case "Identifier":
                let value = object["value"]?.stringValue
                var result = [token(object["system"]?.stringValue, value, object["type"]?["text"]?.stringValue)]
                for coding in object["type"]?["coding"]?.arrayValue ?? [] {
                    guard let typeCode = coding["code"]?.stringValue, let value else { continue }
                    let typeSystem = coding["system"]?.stringValue ?? ""
                    result.append(
                        IndexEntry(code: IndexEntry.ofTypeCode(code), value: .token(system: "\(typeSystem)|\(typeCode)", code: value, text: nil)))
                }
                return result
            case "ContactPoint":
                return object["value"]?.stringValue.map { [token(nil, $0, nil)] } ?? []
            case "Quantity", "Age", "Duration", "Distance", "Count":
                return object["code"]?.stringValue.map { [token(object["system"]?.stringValue, $0, nil)] } ?? []
            default:
                if let value = object["value"]?.stringValue { return [token(object["system"]?.stringValue, value, nil)] }
                return []
            }
        default: return []
        }
    }

    // MARK: date

    func dates(of node: FHIRPathNode) -> [ClosedRange<Int64>] {
        switch node.value {
        case .string(let text):
            let grammar: FHIRDateTime.Grammar = node.type == "instant" ? .instant : .search
            return FHIRDateTime.parse(text, grammar: grammar).map { [$0.range] } ?? []
        case .object(let object):
            switch node.type {
            case "Period":
                let start = object["start"]?.stringValue.flatMap { FHIRDateTime.parse($0, grammar: .search) }
                let end = object["end"]?.stringValue.flatMap { FHIRDateTime.parse($0, grammar: .search) }
                guard start != nil || end != nil else { return [] }
                let low = start?.range.lowerBound ?? Int64.min
                let high = end?.range.upperBound ?? Int64.max
                return low <= high ? [low...high] : []
            case "Timing":
                var ranges = (object["event"]?.arrayValue ?? []).compactMap { $0.stringValue }
                    .compactMap { FHIRDateTime.parse($0, grammar: .search)?.range }
                if let bounds = object["repeat"]?["boundsPeriod"] {
                    ranges += dates(of: FHIRPathNode(value: bounds, type: "Period"))
                }
                guard let low = ranges.map(\.lowerBound).min(), let high = ranges.map(\.upperBound).max() else { return [] }
                return [low...high]
            default:
                return []
            }
        default: return []
        }
    }

    // MARK: reference

    func reference(of node: FHIRPathNode) -> IndexValue? {
        let text: String
        if case .string(let value) = node.value {
            // canonical or uri used as a reference target.
            return .reference(type: nil, id: nil, url: value)
        } else if let value = node.value["reference"]?.stringValue {
            text = value
        } else {
            return nil
        }
        return Self.referenceValue(text, baseURL: baseURL)
    }

    /// The index value of a reference string: local references give type and id, absolute
    /// ones to this server too, other absolute ones their URL.
    public static func referenceValue(_ text: String, baseURL: String?) -> IndexValue? {
        var relative = text
        if let baseURL, text.hasPrefix(baseURL + "/") {
            relative = String(text.dropFirst(baseURL.count + 1))
        }
        switch ReferenceValue.parse(relative) {
        case .relative(let type, let id, _): return .reference(type: type, id: id, url: nil)
        case .absolute(let url): return .reference(type: nil, id: nil, url: url)
        case .contained, .urn, .invalid: return nil
        }
    }

    // MARK: quantity

    func quantity(of node: FHIRPathNode) -> IndexValue? {
        guard case .object(let object) = node.value else {
            if let value = node.value.numberValue?.doubleValue { return .quantity(low: value, high: value, system: nil, code: nil, unit: nil) }
            return nil
        }
        switch node.type {
        case "Money":
            guard let value = object["value"]?.numberValue?.doubleValue else { return nil }
            return .quantity(low: value, high: value, system: "urn:iso:std:iso:4217", code: object["currency"]?.stringValue, unit: nil)
        case "Range":
            let low = object["low"]?["value"]?.numberValue?.doubleValue
            let high = object["high"]?["value"]?.numberValue?.doubleValue
            guard low != nil || high != nil else { return nil }
            let unitSource = object["low"] ?? object["high"]
            return .quantity(
                low: low, high: high, system: unitSource?["system"]?.stringValue, code: unitSource?["code"]?.stringValue,
                unit: unitSource?["unit"]?.stringValue)
        case "SampledData":
            return nil
        default:
            guard let value = object["value"]?.numberValue?.doubleValue else { return nil }
            return .quantity(
                low: value, high: value, system: object["system"]?.stringValue, code: object["code"]?.stringValue,
                unit: object["unit"]?.stringValue)
        }
    }
}
