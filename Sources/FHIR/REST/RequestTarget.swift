/// What a FHIR REST path names (FHIR R4 §3.1.0 "RESTful API"), relative to the base.
public enum RequestTarget: Sendable, Equatable {
    /// `[base]`: transactions, batches and searches across all types.
    case system
    case metadata
    case systemSearch
    case systemHistory
    case systemOperation(String)
    case type(String)
    case typeSearch(String)
    case typeHistory(String)
    case typeOperation(String, String)
    case instance(String, String)
    case instanceHistory(String, String)
    case version(String, String, Int)
    case instanceOperation(String, String, String)

    /// Parses the path segments after the base. Unknown resource types answer 404, which is
    /// what R4 prescribes for "resource type not supported".
    public static func parse(_ segments: [String], model: ElementModel = .r4) throws(FHIRError) -> RequestTarget {
        func resourceType(_ name: String) throws(FHIRError) -> String {
            guard model.isResourceType(name) else {
                throw .notFound("'\(name)' is not a FHIR R4 resource type supported by this server.")
            }
            return name
        }
        func id(_ value: String) throws(FHIRError) -> String {
            guard PrimitiveType.isValidID(value) else {
                throw .invalid("'\(value)' is not a valid resource id (1 to 64 of A-Z a-z 0-9 - .).")
            }
            return value
        }
        let parts = segments.filter { !$0.isEmpty }
        switch parts.count {
        case 0:
            return .system
        case 1:
            switch parts[0] {
            case "metadata": return .metadata
            case "_search": return .systemSearch
            case "_history": return .systemHistory
            default:
                if parts[0].hasPrefix("$") { return .systemOperation(String(parts[0].dropFirst())) }
                return .type(try resourceType(parts[0]))
            }
        case 2:
            let type = try resourceType(parts[0])
            switch parts[1] {
            case "_search": return .typeSearch(type)
            case "_history": return .typeHistory(type)
            default:
                if parts[1].hasPrefix("$") { return .typeOperation(type, String(parts[1].dropFirst())) }
                return .instance(type, try id(parts[1]))
            }
        case 3:
            let type = try resourceType(parts[0])
            let resourceID = try id(parts[1])
            if parts[2] == "_history" { return .instanceHistory(type, resourceID) }
            if parts[2].hasPrefix("$") { return .instanceOperation(type, resourceID, String(parts[2].dropFirst())) }
        case 4:
            let type = try resourceType(parts[0])
            let resourceID = try id(parts[1])
            if parts[2] == "_history" {
                guard let version = Int(parts[3]), version > 0 else {
                    throw .notFound("'\(parts[3])' is not a version of \(type)/\(resourceID).")
                }
                return .version(type, resourceID, version)
            }
        default:
            break
        }
        throw .notFound("No FHIR interaction lives at /\(parts.joined(separator: "/")).")
    }

    /// Splits a relative URL (`Patient/1?x=y`, as in Bundle.entry.request.url) into a target
    /// and its query.
    public static func parse(relativeURL: String, model: ElementModel = .r4) throws(FHIRError) -> (RequestTarget, [(String, String)]) {
        var path = Substring(relativeURL)
        var query: [(String, String)] = []
        if let question = path.firstIndex(of: "?") {
            query = QueryString.parse(String(path[path.index(after: question)...]))
            path = path[..<question]
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { QueryString.percentDecode(String($0)) }
        return (try parse(segments, model: model), query)
    }
}

/// `application/x-www-form-urlencoded` query strings.
public enum QueryString {
    public static func parse(_ text: String) -> [(String, String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(String(parts[0]), plusIsSpace: true)
            let value = parts.count > 1 ? percentDecode(String(parts[1]), plusIsSpace: true) : ""
            return (name, value)
        }
    }

    public static func percentDecode(_ text: String, plusIsSpace: Bool = false) -> String {
        guard text.contains("%") || (plusIsSpace && text.contains("+")) else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let high = hex(utf8[utf8.startIndex]), let low = hex(utf8[utf8.startIndex + 1]) {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Encodes parameters back into a query string.
    public static func encode(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(encodeComponent($0.0))=\(encodeComponent($0.1))" }.joined(separator: "&")
    }

    public static func encodeComponent(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"), UInt8(ascii: "|"),
                UInt8(ascii: ","), UInt8(ascii: "/"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF")
                out.append("%")
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }
}
