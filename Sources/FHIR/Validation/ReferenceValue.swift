/// The shapes a `Reference.reference` string may take (FHIR R4 §2.3.0 references).
public enum ReferenceValue: Sendable, Equatable {
    /// `Patient/123` or `Patient/123/_history/2`.
    case relative(type: String, id: String, version: String?)
    /// `#p1`: a contained resource (or `#` for the container).
    case contained(String)
    /// `http://other.org/fhir/Patient/123`: kept as written.
    case absolute(String)
    /// `urn:uuid:…` or `urn:oid:…`: an entry of the same Bundle.
    case urn(String)
    case invalid(String)

    public static func parse(_ text: String, model: ElementModel = .r4) -> ReferenceValue {
        if text.isEmpty { return .invalid("it is empty") }
        if text.hasPrefix("#") { return .contained(String(text.dropFirst())) }
        if text.hasPrefix("urn:uuid:") || text.hasPrefix("urn:oid:") { return .urn(text) }
        if text.unicodeScalars.contains(where: { $0.properties.isWhitespace }) { return .invalid("it contains whitespace") }
        if let schemeEnd = text.firstIndex(of: ":"), text[..<schemeEnd].allSatisfy({ $0.isLetter || $0 == "+" || $0 == "-" || $0 == "." }),
            text[..<schemeEnd].first?.isLetter == true, !text.contains("?")
        {
            return .absolute(text)
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || (parts.count == 4 && parts[2] == "_history") else {
            return .invalid("expected Type/id, Type/id/_history/version, #contained, urn:uuid:… or an absolute URL")
        }
        let type = String(parts[0])
        guard model.isResourceType(type) else { return .invalid("'\(type)' is not a resource type") }
        guard PrimitiveType.isValidID(parts[1]) else { return .invalid("'\(parts[1])' is not a valid id") }
        if parts.count == 4 {
            guard PrimitiveType.isValidID(parts[3]) else { return .invalid("'\(parts[3])' is not a valid version id") }
            return .relative(type: type, id: String(parts[1]), version: String(parts[3]))
        }
        return .relative(type: type, id: String(parts[1]), version: nil)
    }

    /// `Patient?identifier=…`: a conditional reference, resolved by a transaction.
    public static func isConditional(_ text: String, model: ElementModel = .r4) -> Bool {
        guard let question = text.firstIndex(of: "?") else { return false }
        return model.isResourceType(String(text[..<question]))
    }
}
