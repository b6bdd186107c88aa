import Foundation

/// One element of a FHIR type, as the R4 structure definitions declare it.
public struct ElementDefinition: Sendable {
    /// Name as declared; a choice element keeps its `[x]` (`value[x]`).
    public let name: String
    public let types: [String]
    public let isRequired: Bool
    public let isArray: Bool
    /// Part of the `_summary=true` view (ElementDefinition.isSummary).
    public let isSummary: Bool
    /// The codes of a required binding, when the binding's value set is a closed list.
    public let requiredCodes: Set<String>?
    /// Resource types a Reference or canonical may point to (empty: any).
    public let targetTypes: [String]

    public var isChoice: Bool { name.hasSuffix("[x]") }

    /// `value` for `value[x]`, the name itself otherwise.
    public var baseName: String { isChoice ? String(name.dropLast(3)) : name }
}

/// A FHIR resource, backbone element or datatype, with its elements.
public struct TypeDefinition: Sendable {
    public enum Kind: String, Sendable {
        case resource, backbone, complex
    }

    public let name: String
    public let kind: Kind
    public let elements: [ElementDefinition]
    /// Every JSON member name the type accepts (choice elements expanded:
    /// `valueQuantity` → (value[x], Quantity)), without the `_` prefix of primitive extensions.
    public let members: [String: (element: ElementDefinition, type: String)]
    /// Choice elements by their name without `[x]` (`value` → value[x]).
    public let choices: [String: ElementDefinition]
}

/// The R4 element model: every resource and datatype with its elements, loaded from
/// `Definitions/r4-elements.txt` (generated from the R4 definitions, see
/// scripts/fhir-definitions). Immutable reference data, shared by the whole process.
public final class ElementModel: Sendable {
    public static let r4: ElementModel = {
        guard let url = Bundle.module.url(forResource: "r4-elements", withExtension: "txt"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            fatalError("FHIR element definitions missing from the FHIR module's resources")
        }
        return ElementModel(definitions: text)
    }()

    /// Abstract types that are never the `resourceType` of an instance.
    static let abstractResourceTypes: Set<String> = ["Resource", "DomainResource", "MetadataResource"]

    public let types: [String: TypeDefinition]
    /// Every concrete resource type, sorted.
    public let resourceTypes: [String]
    private let resourceTypeSet: Set<String>

    init(definitions: String) {
        var types: [String: TypeDefinition] = [:]
        var current: (name: String, kind: TypeDefinition.Kind)?
        var elements: [ElementDefinition] = []

        func finish() {
            guard let current else { return }
            var members: [String: (ElementDefinition, String)] = [:]
            for element in elements {
                if element.isChoice {
                    for type in element.types {
                        members[element.baseName + type.prefix(1).uppercased() + type.dropFirst()] = (element, type)
                    }
                } else {
                    members[element.name] = (element, element.types[0])
                }
            }
            var choices: [String: ElementDefinition] = [:]
            for element in elements where element.isChoice { choices[element.baseName] = element }
            types[current.name] = TypeDefinition(name: current.name, kind: current.kind, elements: elements, members: members, choices: choices)
        }

        for line in definitions.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if fields[0] == "T" {
                finish()
                current = (fields[1], TypeDefinition.Kind(rawValue: fields[2]) ?? .complex)
                elements = []
            } else if fields[0] == "E", fields.count >= 8 {
                let flags = fields[5]
                let codes = fields[6] == "-" ? nil : Set(fields[6].split(separator: ",").map(String.init))
                elements.append(
                    ElementDefinition(
                        name: fields[1],
                        types: fields[2].split(separator: ",").map(String.init),
                        isRequired: fields[3] == "1",
                        isArray: fields[4] == "*",
                        isSummary: flags.contains("S"),
                        requiredCodes: flags.contains("X") ? nil : codes,
                        targetTypes: fields[7] == "-" ? [] : fields[7].split(separator: ",").map(String.init)
                    ))
            }
        }
        finish()
        self.types = types
        self.resourceTypes = types.values.filter { $0.kind == .resource && !Self.abstractResourceTypes.contains($0.name) }
            .map(\.name).sorted()
        self.resourceTypeSet = Set(resourceTypes)
    }

    public func isResourceType(_ name: String) -> Bool {
        resourceTypeSet.contains(name)
    }

    public func type(_ name: String) -> TypeDefinition? {
        types[name]
    }

    /// Whether a type name is a primitive (lower-case initial in FHIR).
    public static func isPrimitive(_ typeName: String) -> Bool {
        PrimitiveType(typeName: typeName) != nil
    }
}
