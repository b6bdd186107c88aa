import FHIR
import Foundation
import Hummingbird

/// FHIR content negotiation (FHIR R4 §3.1.0.1.10): Hygie speaks JSON only. Asking for XML
/// (by Accept or `_format`) is answered 406; sending XML is answered 415.
enum ContentNegotiation {
    static let jsonTypes: Set<String> = ["application/fhir+json", "application/json", "application/json+fhir", "json", "*/*", "application/*"]
    static let xmlTypes: Set<String> = ["application/fhir+xml", "application/xml", "application/xml+fhir", "text/xml", "xml"]

    /// The response media type, or a 406 error.
    static func responseType(accept: String?, format: String?) throws(FHIRError) -> String {
        if let format {
            let value = format.lowercased()
            if jsonTypes.contains(value) { return value == "application/json" ? "application/json" : "application/fhir+json" }
            throw FHIRError(status: 406, .notSupported, "_format=\(format) is not available: this server answers in JSON (_format=json).")
        }
        guard let accept, !accept.isEmpty else { return "application/fhir+json" }
        let types = accept.split(separator: ",").map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
        if types.contains("application/fhir+json") || types.contains("application/json+fhir") { return "application/fhir+json" }
        if types.contains("application/json") { return "application/json" }
        if types.contains(where: { jsonTypes.contains($0) || $0 == "text/html" || $0 == "text/plain" }) { return "application/fhir+json" }
        if types.contains(where: { xmlTypes.contains($0) }) {
            throw FHIRError(status: 406, .notSupported, "XML is not available: this server answers in FHIR JSON (Accept: application/fhir+json).")
        }
        throw FHIRError(status: 406, .notSupported, "None of the accepted types (\(accept)) is available: this server answers in application/fhir+json.")
    }

    enum BodyKind {
        case json, jsonPatch, form
    }

    /// What a request body is, from its Content-Type, or a 415 error.
    static func bodyKind(contentType: String?) throws(FHIRError) -> BodyKind {
        guard let contentType else {
            throw FHIRError(status: 415, .notSupported, "The request has a body but no Content-Type; send application/fhir+json.")
        }
        let mediaType = contentType.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased()
        switch mediaType {
        case "application/fhir+json", "application/json", "application/json+fhir": return .json
        case "application/json-patch+json": return .jsonPatch
        case "application/x-www-form-urlencoded": return .form
        default:
            if xmlTypes.contains(mediaType) {
                throw FHIRError(status: 415, .notSupported, "XML bodies are not supported; send the resource as application/fhir+json.")
            }
            throw FHIRError(status: 415, .notSupported, "Content-Type \(mediaType) is not supported; send application/fhir+json.")
        }
    }
}
