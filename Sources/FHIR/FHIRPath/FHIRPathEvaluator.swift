/// A node of a FHIRPath collection: a JSON value with its FHIR type when known.
public struct FHIRPathNode: Sendable {
    public var value: JSON
    /// FHIR type name (`HumanName`, `dateTime`, `Patient`…), nil when unknown.
    public var type: String?

    public init(value: JSON, type: String?) {
        self.value = value
        self.type = type
    }
}

/// Evaluates the FHIRPath subset over a resource, typing nodes with the R4 element model so
/// that `Observation.value as Quantity` finds `valueQuantity` and index extraction knows a
/// Period from a dateTime.
public struct FHIRPathEvaluator: Sendable {
    let model: ElementModel

    public init(model: ElementModel = .r4) {
        self.model = model
    }

    public func evaluate(_ expression: FHIRPathExpression, on resource: JSON) -> [FHIRPathNode] {
        let type = resource["resourceType"]?.stringValue
        return evaluate(expression, input: [FHIRPathNode(value: resource, type: type)], isRoot: true)
    }

    func evaluate(_ expression: FHIRPathExpression, input: [FHIRPathNode], isRoot: Bool = false) -> [FHIRPathNode] {
        switch expression {
        case .this:
            return input
        case .member(let target, let name):
            // `Patient.name`: at the root, a type name selects the resource itself.
            if case .this = target, isRoot || input.first?.type.map(model.isResourceType) == true {
                if model.isResourceType(name) || name == "Resource" || name == "DomainResource" {
                    return input.filter { $0.type == name || name == "Resource" || name == "DomainResource" }
                }
            }
            return evaluate(target, input: input, isRoot: isRoot).flatMap { children(of: $0, named: name) }
        case .index(let target, let position):
            let nodes = evaluate(target, input: input, isRoot: isRoot)
            return position < nodes.count ? [nodes[position]] : []
        case .asType(let target, let type):
            return evaluate(target, input: input, isRoot: isRoot).filter { conforms($0, to: type) }
        case .isType(let target, let type):
            let nodes = evaluate(target, input: input, isRoot: isRoot)
            guard nodes.count == 1 else { return [] }
            return [boolean(conforms(nodes[0], to: type))]
        case .union(let left, let right):
            return evaluate(left, input: input, isRoot: isRoot) + evaluate(right, input: input, isRoot: isRoot)
        case .equals(let left, let right, let negated):
            let lhs = evaluate(left, input: input, isRoot: isRoot)
            let rhs = evaluate(right, input: input, isRoot: isRoot)
            guard !lhs.isEmpty, !rhs.isEmpty else { return [] }
            let equal = lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.value == $1.value }
            return [boolean(equal != negated)]
        case .and(let left, let right):
            let lhs = truth(evaluate(left, input: input, isRoot: isRoot))
            let rhs = truth(evaluate(right, input: input, isRoot: isRoot))
            if lhs == false || rhs == false { return [boolean(false)] }
            if lhs == true, rhs == true { return [boolean(true)] }
            return []
        case .or(let left, let right):
            let lhs = truth(evaluate(left, input: input, isRoot: isRoot))
            let rhs = truth(evaluate(right, input: input, isRoot: isRoot))
            if lhs == true || rhs == true { return [boolean(true)] }
            if lhs == false, rhs == false { return [boolean(false)] }
            return []
        case .string(let value):
            return [FHIRPathNode(value: .string(value), type: "string")]
        case .boolean(let value):
            return [boolean(value)]
        case .number(let text):
            return [FHIRPathNode(value: .number(JSONNumber(text: text)), type: "decimal")]
        case .function(let target, let name, let arguments):
            let nodes = evaluate(target, input: input, isRoot: isRoot)
            switch name {
            case "where":
                guard let condition = arguments.first else { return [] }
                return nodes.filter { truth(evaluate(condition, input: [$0])) == true }
            case "exists":
                if let condition = arguments.first {
                    return [boolean(nodes.contains { truth(evaluate(condition, input: [$0])) == true })]
                }
                return [boolean(!nodes.isEmpty)]
            case "empty":
                return [boolean(nodes.isEmpty)]
            case "not":
                guard let value = truth(nodes) else { return [] }
                return [boolean(!value)]
            case "first":
                return nodes.first.map { [$0] } ?? []
            case "resolve":
                return nodes.compactMap(resolve)
            case "extension":
                guard case .string(let url)? = arguments.first.map({ evaluate($0, input: input).first?.value }) ?? nil else {
                    return []
                }
                return nodes.flatMap { children(of: $0, named: "extension") }.filter { $0.value["url"] == .string(url) }
            default:
                return []
            }
        }
    }

    func boolean(_ value: Bool) -> FHIRPathNode {
        FHIRPathNode(value: .bool(value), type: "boolean")
    }

    /// Singleton evaluation of a collection to a boolean (FHIRPath N1 §4.5).
    func truth(_ nodes: [FHIRPathNode]) -> Bool? {
        guard let first = nodes.first else { return nil }
        if nodes.count == 1, case .bool(let value) = first.value { return value }
        return true
    }

    /// Child elements named `name`; a choice name (`value`) yields whichever `value[x]` is
    /// present, typed by its suffix.
    func children(of node: FHIRPathNode, named name: String) -> [FHIRPathNode] {
        guard case .object(let object) = node.value else { return [] }
        let definition = node.type.flatMap(model.type)
        var result: [FHIRPathNode] = []
        if let value = object[name] {
            let type = definition?.members[name]?.type
            append(value, type: type, to: &result)
            return result
        }
        if let definition, let choice = definition.choices[name] {
            for type in choice.types {
                let key = name + type.prefix(1).uppercased() + type.dropFirst()
                if let value = object[key] { append(value, type: type, to: &result) }
            }
            return result
        }
        if definition == nil {
            // Untyped content: find `name` followed by a type suffix.
            for (key, value) in object where key.hasPrefix(name) && key.count > name.count {
                let suffix = key.dropFirst(name.count)
                if suffix.first?.isUppercase == true {
                    let type = model.type(String(suffix)) != nil ? String(suffix) : suffix.prefix(1).lowercased() + suffix.dropFirst()
                    append(value, type: type, to: &result)
                }
            }
        }
        return result
    }

    func append(_ value: JSON, type: String?, to result: inout [FHIRPathNode]) {
        if case .array(let items) = value {
            for item in items where !item.isNull {
                result.append(FHIRPathNode(value: item, type: type == "Resource" ? item["resourceType"]?.stringValue : type))
            }
        } else {
            result.append(FHIRPathNode(value: value, type: type == "Resource" ? value["resourceType"]?.stringValue : type))
        }
    }

    /// `is`/`as` test. Quantity profiles (Age, Duration…) count as Quantity; FHIR string-like
    /// primitives count as `string` only when they are strings.
    func conforms(_ node: FHIRPathNode, to type: String) -> Bool {
        guard let nodeType = node.type else { return false }
        if nodeType == type { return true }
        let lowered = type.prefix(1).lowercased() + type.dropFirst()
        if nodeType == lowered { return true }
        if type == "Quantity", ["Age", "Duration", "Distance", "Count", "SimpleQuantity", "MoneyQuantity"].contains(nodeType) {
            return true
        }
        if type == "Resource" || type == "DomainResource" { return model.isResourceType(nodeType) }
        return false
    }

    /// `resolve()` without a database: a reference resolves to a node typed with the target
    /// resource type read from the reference itself (or `Reference.type`), which is what
    /// `where(resolve() is Patient)` needs.
    func resolve(_ node: FHIRPathNode) -> FHIRPathNode? {
        if let type = node.value["type"]?.stringValue, model.isResourceType(type) {
            return FHIRPathNode(value: node.value, type: type)
        }
        guard let reference = node.value["reference"]?.stringValue ?? node.value.stringValue else { return nil }
        if let type = Self.resourceType(ofReference: reference, model: model) {
            return FHIRPathNode(value: node.value, type: type)
        }
        return nil
    }

    /// The resource type named by a relative or absolute reference URL.
    static func resourceType(ofReference reference: String, model: ElementModel) -> String? {
        var parts = reference.split(separator: "/").map(String.init)
        if let history = parts.firstIndex(of: "_history") { parts = Array(parts[..<history]) }
        guard parts.count >= 2 else { return nil }
        let type = parts[parts.count - 2]
        return model.isResourceType(type) ? type : nil
    }
}
