/// Parsing of search values: OR lists with escapes, prefixes, and the value forms of each
/// parameter type (FHIR R4 §3.1.1.4).
extension SearchParser {
    /// Splits on commas not escaped with a backslash (FHIR R4 §3.1.1.4.8 escaping).
    static func splitOr(_ value: String) -> [String] {
        splitUnescaped(value, on: ",").map(unescape)
    }

    static func splitUnescaped(_ value: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaping = false
        for character in value {
            if escaping {
                current.append("\\")
                current.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else if character == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if escaping { current.append("\\") }
        parts.append(current)
        return parts
    }

    static func unescape(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var result = ""
        var escaping = false
        for character in value {
            if escaping {
                result.append(character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                result.append(character)
            }
        }
        return result
    }

    static func tokenValue(_ value: String) -> TokenValue {
        let parts = splitUnescaped(value, on: "|")
        if parts.count >= 2 {
            let system = unescape(parts[0])
            let code = unescape(parts.dropFirst().joined(separator: "|"))
            return TokenValue(system: system, code: code.isEmpty ? nil : code)
        }
        return TokenValue(system: nil, code: unescape(value))
    }

    static func prefixed(_ value: String) -> (SearchPrefix, String) {
        if value.count > 2, let prefix = SearchPrefix(rawValue: String(value.prefix(2))), value.dropFirst(2).first?.isLetter == false {
            return (prefix, String(value.dropFirst(2)))
        }
        return (.eq, value)
    }

    static func datePredicate(_ value: String) throws(FHIRError) -> DatePredicate {
        let (prefix, text) = prefixed(value)
        guard let date = FHIRDateTime.parse(text, grammar: .search) else {
            throw .invalid("'\(value)' is not a valid date search value (e.g. 2024-03-01, ge2024-03-01T10:00:00Z).")
        }
        return DatePredicate(prefix: prefix, low: date.range.lowerBound, high: date.range.upperBound)
    }

    static func numberPredicate(_ value: String) throws(FHIRError) -> NumberPredicate {
        let (prefix, text) = prefixed(value)
        guard let number = Double(text), number.isFinite, text.first != "+", !text.hasSuffix(".") else {
            throw .invalid("'\(value)' is not a valid number search value.")
        }
        // The implicit range is half a unit of the last significant digit either side.
        let mantissa = text.lowercased().split(separator: "e").first.map(String.init) ?? text
        let exponent = text.lowercased().split(separator: "e").dropFirst().first.flatMap { Int($0) } ?? 0
        let decimals = mantissa.split(separator: ".").dropFirst().first?.count ?? 0
        var half = 0.5
        for _ in 0..<decimals { half /= 10 }
        for _ in 0..<abs(exponent) { half = exponent > 0 ? half * 10 : half / 10 }
        return NumberPredicate(prefix: prefix, value: number, low: number - half, high: number + half)
    }

    static func quantityPredicate(_ value: String) throws(FHIRError) -> QuantityPredicate {
        let parts = splitUnescaped(value, on: "|")
        guard parts.count == 1 || parts.count == 3 else {
            throw .invalid("'\(value)' is not a valid quantity search value (number|system|code).")
        }
        let number = try numberPredicate(parts[0])
        if parts.count == 1 { return QuantityPredicate(number: number, system: nil, code: nil) }
        let system = unescape(parts[1])
        let code = unescape(parts[2])
        return QuantityPredicate(number: number, system: system.isEmpty ? nil : system, code: code.isEmpty ? nil : code)
    }

    static func referenceTarget(_ value: String, type: String?, model: ElementModel) throws(FHIRError) -> ReferenceTarget {
        if value.contains("://") || value.hasPrefix("urn:") { return .url(value) }
        let parts = value.split(separator: "/").map(String.init)
        switch parts.count {
        case 1:
            guard PrimitiveType.isValidID(parts[0]) else { throw .invalid("'\(value)' is not a valid id.") }
            return .local(type: type, id: parts[0])
        case 2, 4:
            guard model.isResourceType(parts[0]), PrimitiveType.isValidID(parts[1]), parts.count == 2 || parts[2] == "_history" else {
                throw .invalid("'\(value)' is not a valid reference (Type/id).")
            }
            if let type, type != parts[0] { throw .invalid("'\(value)' is not a \(type).") }
            return .local(type: parts[0], id: parts[1])
        default:
            throw .invalid("'\(value)' is not a valid reference (Type/id).")
        }
    }
}

extension String {
    var trimmed: String {
        var scalars = Substring(self)
        while scalars.first?.isWhitespace == true { scalars.removeFirst() }
        while scalars.last?.isWhitespace == true { scalars.removeLast() }
        return String(scalars)
    }
}
