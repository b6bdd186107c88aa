/// Checks that a JSON value is a well-formed FHIR R4 resource: known `resourceType`, only
/// declared elements, arrays where the element repeats and single values where it does not,
/// required elements present, primitive values in their lexical form, codes of required
/// bindings, references well-formed and pointing to allowed types, and nothing empty
/// (FHIR R4 §2.6.2 JSON representation; §2.24 datatypes).
public struct ResourceValidator: Sendable {
    public struct Options: Sendable {
        /// Accept `Patient?identifier=…` references, which only a transaction may carry
        /// (FHIR R4 §3.1.0.11.2 "conditional references").
        public var allowConditionalReferences = false
        /// Stop after this many issues.
        public var maximumIssues = 50

        public init(allowConditionalReferences: Bool = false) {
            self.allowConditionalReferences = allowConditionalReferences
        }
    }

    let model: ElementModel
    let options: Options

    public init(model: ElementModel = .r4, options: Options = Options()) {
        self.model = model
        self.options = options
    }

    /// All problems found, empty when the resource is valid.
    public func validate(_ value: JSON, expectedType: String? = nil) -> [OutcomeIssue] {
        var run = Run(model: model, options: options)
        run.resource(value, path: expectedType ?? "", expectedType: expectedType)
        return run.issues
    }

    struct Run {
        let model: ElementModel
        let options: Options
        var issues: [OutcomeIssue] = []

        mutating func report(_ code: OutcomeIssue.Code, _ message: String, _ path: String) {
            guard issues.count < options.maximumIssues else { return }
            issues.append(OutcomeIssue(.error, code, message, expression: path.isEmpty ? [] : [path]))
        }

        mutating func resource(_ value: JSON, path: String, expectedType: String?) {
            guard case .object(let object) = value else {
                report(.structure, "A resource must be a JSON object, not a \(value.kindName).", path)
                return
            }
            guard let typeValue = object["resourceType"] else {
                report(.required, "The resource has no resourceType.", path)
                return
            }
            guard case .string(let type) = typeValue, model.isResourceType(type), let definition = model.type(type) else {
                report(.notSupported, "\(typeValue.stringValue.map { "'\($0)'" } ?? "This value") is not a FHIR R4 resource type.", path)
                return
            }
            if let expectedType, expectedType != type {
                report(.invalid, "The resource is a \(type) but a \(expectedType) was expected here.", path)
                return
            }
            let here = path.isEmpty || path == expectedType ? type : path
            elements(of: object, definition: definition, path: here, skipping: "resourceType")
        }

        mutating func elements(of object: JSONObject, definition: TypeDefinition, path: String, skipping: String? = nil) {
            if object.isEmpty || (skipping != nil && object.count == 1) {
                report(.structure, "Empty objects are not allowed: omit the element instead.", path)
                return
            }
            var choicesSeen: [String: String] = [:]
            for (key, value) in object where key != skipping {
                let isExtensionCompanion = key.hasPrefix("_")
                let name = isExtensionCompanion ? String(key.dropFirst()) : key
                guard let (element, type) = definition.members[name] else {
                    unknownElement(key, definition: definition, path: path)
                    continue
                }
                if element.isChoice {
                    if let previous = choicesSeen[element.name], previous != name {
                        report(.structure, "Only one of \(previous) and \(name) may be present (\(element.name) is a choice).", "\(path).\(name)")
                    }
                    choicesSeen[element.name] = name
                }
                let childPath = "\(path).\(name)"
                if isExtensionCompanion {
                    guard ElementModel.isPrimitive(type) else {
                        report(.structure, "'\(key)' is only allowed for primitive elements.", childPath)
                        continue
                    }
                    primitiveExtension(value, element: element, primitive: object[name], path: childPath)
                } else {
                    member(value, element: element, type: type, companion: object["_" + name], path: childPath)
                }
            }
            for element in definition.elements where element.isRequired {
                if !isPresent(element, in: object) {
                    report(.required, "\(path).\(element.name) is required (minimum cardinality 1).", "\(path).\(element.baseName)")
                }
            }
        }

        func isPresent(_ element: ElementDefinition, in object: JSONObject) -> Bool {
            if element.isChoice {
                return element.types.contains { type in
                    let key = element.baseName + type.prefix(1).uppercased() + type.dropFirst()
                    return object[key] != nil || object["_" + key] != nil
                }
            }
            return object[element.name] != nil || object["_" + element.name] != nil
        }

        mutating func unknownElement(_ key: String, definition: TypeDefinition, path: String) {
            if let choice = definition.elements.first(where: { $0.isChoice && $0.baseName == key }) {
                let examples = choice.types.prefix(3).map { key + $0.prefix(1).uppercased() + $0.dropFirst() }
                report(.structure, "'\(key)' is a choice element: name it with its type, e.g. \(examples.joined(separator: ", ")).", "\(path).\(key)")
            } else {
                report(.structure, "Unknown element '\(key)' in \(definition.name).", "\(path).\(key)")
            }
        }

        mutating func member(_ value: JSON, element: ElementDefinition, type: String, companion: JSON?, path: String) {
            if element.isArray {
                guard case .array(let items) = value else {
                    report(.structure, "\(element.baseName) repeats: its value must be a JSON array, even with one item.", path)
                    return
                }
                guard !items.isEmpty else {
                    report(.structure, "Empty arrays are not allowed: omit the element instead.", path)
                    return
                }
                let companionItems = companion?.arrayValue
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path)[\(index)]"
                    if item.isNull {
                        let hasExtension = companionItems.map { index < $0.count && !$0[index].isNull } ?? false
                        if !(ElementModel.isPrimitive(type) && hasExtension) {
                            report(.structure, "Null is only allowed in a primitive array whose '_' twin has an extension at the same index.", itemPath)
                        }
                        continue
                    }
                    single(item, element: element, type: type, path: itemPath)
                }
            } else {
                if case .array = value {
                    report(.structure, "\(element.baseName) does not repeat: give a single value, not an array.", path)
                    return
                }
                if value.isNull {
                    report(.structure, "Null values are not allowed: omit the element instead.", path)
                    return
                }
                single(value, element: element, type: type, path: path)
            }
        }

        mutating func single(_ value: JSON, element: ElementDefinition, type: String, path: String) {
            if let primitive = PrimitiveType(typeName: type) {
                if let problem = primitive.problem(with: value) {
                    report(.value, "\(path) \(problem).", path)
                } else if let codes = element.requiredCodes, let code = value.stringValue, !codes.contains(code) {
                    report(.codeInvalid, "'\(code)' is not one of the allowed codes for \(path): \(codes.sorted().joined(separator: ", ")).", path)
                }
                return
            }
            if type == "Resource" {
                resource(value, path: path, expectedType: nil)
                return
            }
            guard case .object(let object) = value else {
                report(.structure, "\(path) is a \(type): its value must be a JSON object, not a \(value.kindName).", path)
                return
            }
            guard let definition = model.type(type) else { return }
            elements(of: object, definition: definition, path: path)
            if type == "Reference" {
                reference(object, element: element, path: path)
            } else if type == "Extension", object["extension"] != nil,
                object.members.contains(where: { $0.key.hasPrefix("value") })
            {
                report(.invariant, "An extension has either a value or nested extensions, not both (ext-1).", path)
            }
        }

        mutating func primitiveExtension(_ value: JSON, element: ElementDefinition, primitive: JSON?, path: String) {
            let elementDefinition = model.type("Element")!
            func check(_ item: JSON, _ itemPath: String) {
                guard case .object(let object) = item else {
                    report(.structure, "'_\(element.baseName)' must hold objects with id or extension.", itemPath)
                    return
                }
                elements(of: object, definition: elementDefinition, path: itemPath)
            }
            if element.isArray {
                guard case .array(let items) = value, !items.isEmpty else {
                    report(.structure, "'_\(element.baseName)' must be a non-empty array aligned with '\(element.baseName)'.", path)
                    return
                }
                if let primitiveItems = primitive?.arrayValue, primitiveItems.count != items.count {
                    report(.structure, "'\(element.baseName)' and '_\(element.baseName)' must have the same number of items.", path)
                }
                for (index, item) in items.enumerated() where !item.isNull {
                    check(item, "\(path)[\(index)]")
                }
            } else {
                check(value, path)
            }
        }

        mutating func reference(_ object: JSONObject, element: ElementDefinition, path: String) {
            guard case .string(let reference) = object["reference"] else { return }
            switch ReferenceValue.parse(reference) {
            case .invalid(let why):
                if options.allowConditionalReferences, ReferenceValue.isConditional(reference) { return }
                report(.value, "'\(reference)' is not a valid reference: \(why).", "\(path).reference")
            case .relative(let type, _, _):
                let allowed = element.targetTypes
                if !allowed.isEmpty, !allowed.contains("Resource"), !allowed.contains(type) {
                    report(.value, "\(path) may reference \(allowed.joined(separator: ", ")), not \(type).", "\(path).reference")
                }
            case .contained, .absolute, .urn:
                break
            }
        }
    }
}
