import FHIR

/// The CapabilityStatement of `GET /fhir/metadata` (FHIR R4 §3.1.0.13): generated from the
/// same registry the server indexes with, so it announces exactly what works.
public struct CapabilityStatementBuilder: Sendable {
    let registry: SearchParameterRegistry
    let baseURL: String
    let softwareVersion: String
    let releaseDate: String
    /// The authorization server's base (`…/oauth2`), announced as SMART's `oauth-uris`.
    let oauthBase: String?

    public init(registry: SearchParameterRegistry = .r4, baseURL: String, softwareVersion: String, releaseDate: String, oauthBase: String? = nil) {
        self.oauthBase = oauthBase
        self.registry = registry
        self.baseURL = baseURL
        self.softwareVersion = softwareVersion
        self.releaseDate = releaseDate
    }

    public func build() -> JSON {
        var statement = JSONObject()
        statement["resourceType"] = "CapabilityStatement"
        statement["status"] = "active"
        statement["date"] = .string(releaseDate)
        statement["publisher"] = "Hygie"
        statement["kind"] = "instance"
        statement["software"] = ["name": "Hygie", "version": .string(softwareVersion)]
        statement["implementation"] = ["description": "Hygie FHIR R4 server", "url": .string(baseURL)]
        statement["fhirVersion"] = "4.0.1"
        statement["format"] = ["json", "application/fhir+json"]
        statement["patchFormat"] = ["application/json-patch+json"]
        var rest = JSONObject()
        rest["mode"] = "server"
        let revIncludes = revIncludeMap()
        rest["resource"] = .array(registry.model.resourceTypes.map { resource($0, revIncludes: revIncludes[$0] ?? []) })
        rest["interaction"] = [["code": "transaction"], ["code": "batch"], ["code": "search-system"], ["code": "history-system"]]
        rest["searchParam"] = .array(registry.common.values.sorted { $0.code < $1.code }.map(searchParam))
        if let oauthBase {
            // SMART App Launch: every request but this one needs an OAuth 2.0 Bearer token.
            rest["security"] = [
                "service": [["coding": [["system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"]]]],
                "extension": [
                    [
                        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                        "extension": [
                            ["url": "authorize", "valueUri": .string(oauthBase + "/authorize")], ["url": "token", "valueUri": .string(oauthBase + "/token")],
                        ],
                    ]
                ],
            ]
        }
        statement["rest"] = [.object(rest)]
        return .object(statement)
    }

    func resource(_ type: String, revIncludes: [String]) -> JSON {
        let parameters = registry.parameters(for: type).filter { $0.type != .composite && $0.type != .special }
        let references = parameters.filter { $0.type == .reference }.map(\.code)
        var resource = JSONObject()
        resource["type"] = .string(type)
        resource["profile"] = .string("http://hl7.org/fhir/StructureDefinition/\(type)")
        resource["interaction"] = .array(
            ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"].map { ["code": .string($0)] })
        resource["versioning"] = "versioned-update"
        resource["readHistory"] = true
        resource["updateCreate"] = true
        resource["conditionalCreate"] = true
        resource["conditionalRead"] = "full-support"
        resource["conditionalUpdate"] = true
        resource["conditionalDelete"] = "single"
        resource["referencePolicy"] = ["literal", "local"]
        resource["searchInclude"] = .array((["\(type):*"] + references.map { "\(type):\($0)" }).map { .string($0) })
        if !revIncludes.isEmpty { resource["searchRevInclude"] = .array(revIncludes.map { .string($0) }) }
        resource["searchParam"] = .array(parameters.map(searchParam))
        var operations: [JSON] = [["name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"]]
        if type == "Patient" {
            operations.append(["name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"])
        }
        resource["operation"] = .array(operations)
        return .object(resource)
    }

    func searchParam(_ parameter: SearchParameterDefinition) -> JSON {
        ["name": .string(parameter.code), "definition": .string(parameter.url), "type": .string(parameter.type.rawValue)]
    }

    /// For each type, `Source:param` of every reference parameter that can point to it.
    func revIncludeMap() -> [String: [String]] {
        var map: [String: [String]] = [:]
        for source in registry.model.resourceTypes {
            for parameter in registry.parameters(for: source) where parameter.type == .reference {
                for target in parameter.targets { map[target, default: []].append("\(source):\(parameter.code)") }
            }
        }
        return map
    }
}
