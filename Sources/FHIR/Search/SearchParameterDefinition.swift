import Foundation

/// The kinds of search parameter (FHIR R4 §3.1.1.4). Composite and special parameters are
/// not indexed and are therefore not announced.
public enum SearchParameterType: String, Sendable {
    case number, date, string, token, reference, quantity, uri, composite, special
}

/// A search parameter of one resource type: the R4 definition (name, type, FHIRPath
/// expression, target types), already narrowed to the parts of the expression that apply to
/// that type.
public struct SearchParameterDefinition: Sendable {
    public let code: String
    public let type: SearchParameterType
    public let resourceType: String
    public let expression: FHIRPathExpression
    /// The expression as published (for every base type of the definition).
    public let expressionText: String
    public let targets: [String]
    public let url: String
    /// Base types of the published definition.
    public let bases: [String]
}

/// Every search parameter Hygie indexes, per resource type: the R4 definitions loaded from
/// `Definitions/r4-search-parameters.txt` (generated from the official R4 bundle).
public final class SearchParameterRegistry: Sendable {
    public static let r4: SearchParameterRegistry = {
        guard let url = Bundle.module.url(forResource: "r4-search-parameters", withExtension: "txt"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            fatalError("FHIR search parameter definitions missing from the FHIR module's resources")
        }
        do {
            return try SearchParameterRegistry(definitions: text, model: .r4)
        } catch {
            fatalError("invalid search parameter definitions: \(error)")
        }
    }()

    /// Parameters that apply to every resource type (base `Resource`), e.g. `_tag`.
    public let common: [String: SearchParameterDefinition]
    private let byType: [String: [String: SearchParameterDefinition]]
    /// `parameters(for:)` of every type, computed once: index extraction asks for every write.
    private let sortedByType: [String: [SearchParameterDefinition]]
    public let model: ElementModel

    init(definitions: String, model: ElementModel) throws {
        self.model = model
        var byType: [String: [String: SearchParameterDefinition]] = [:]
        var common: [String: SearchParameterDefinition] = [:]
        for line in definitions.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 6, let type = SearchParameterType(rawValue: fields[1]) else { continue }
            let bases = fields[2].split(separator: ",").map(String.init)
            let targets = fields[3] == "-" ? [] : fields[3].split(separator: ",").map(String.init)
            let parsed = try FHIRPathParser.parse(fields[4])
            for base in bases {
                let expression =
                    base == "Resource" || base == "DomainResource"
                    ? parsed : Self.narrow(parsed, to: base) ?? parsed
                let definition = SearchParameterDefinition(
                    code: fields[0], type: type, resourceType: base, expression: expression,
                    expressionText: fields[4], targets: targets, url: fields[5], bases: bases)
                if base == "Resource" {
                    common[fields[0]] = definition
                } else if base != "DomainResource" {
                    byType[base, default: [:]][fields[0]] = definition
                }
            }
        }
        self.byType = byType
        self.common = common
        var sorted: [String: [SearchParameterDefinition]] = [:]
        for type in model.resourceTypes {
            let own = byType[type].map { Array($0.values) } ?? []
            let shared = common.values.filter { shared in !own.contains { $0.code == shared.code } }.map { shared in
                SearchParameterDefinition(
                    code: shared.code, type: shared.type, resourceType: type, expression: shared.expression,
                    expressionText: shared.expressionText, targets: shared.targets, url: shared.url, bases: shared.bases)
            }
            sorted[type] = (own + shared).sorted { $0.code < $1.code }
        }
        self.sortedByType = sorted
    }

    /// The parameter `code` of `resourceType` (own or common), nil when none is defined.
    public func parameter(_ resourceType: String, _ code: String) -> SearchParameterDefinition? {
        if let own = byType[resourceType]?[code] { return own }
        guard let shared = common[code] else { return nil }
        return SearchParameterDefinition(
            code: shared.code, type: shared.type, resourceType: resourceType, expression: shared.expression,
            expressionText: shared.expressionText, targets: shared.targets, url: shared.url, bases: shared.bases)
    }

    /// All parameters of a resource type, common ones included, sorted by code.
    public func parameters(for resourceType: String) -> [SearchParameterDefinition] {
        sortedByType[resourceType] ?? []
    }

    /// Keeps the union members of a multi-type expression that start at `base`
    /// (`AllergyIntolerance.patient | CarePlan.subject…` narrowed to CarePlan).
    static func narrow(_ expression: FHIRPathExpression, to base: String) -> FHIRPathExpression? {
        var parts: [FHIRPathExpression] = []
        func flatten(_ expression: FHIRPathExpression) {
            if case .union(let left, let right) = expression {
                flatten(left)
                flatten(right)
            } else {
                parts.append(expression)
            }
        }
        flatten(expression)
        let kept = parts.filter { root(of: $0) == base }
        guard var result = kept.first else { return nil }
        for part in kept.dropFirst() { result = .union(result, part) }
        return result
    }

    /// The type name a path starts from (`Observation` in `(Observation.value as Quantity)`).
    static func root(of expression: FHIRPathExpression) -> String? {
        switch expression {
        case .member(.this, let name): name
        case .member(let target, _), .index(let target, _), .asType(let target, _), .isType(let target, _),
            .function(let target, _, _):
            root(of: target)
        case .equals(let left, _, _), .and(let left, _), .or(let left, _), .union(let left, _): root(of: left)
        default: nil
        }
    }
}
