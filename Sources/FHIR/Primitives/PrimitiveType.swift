/// The FHIR R4 primitive types and their lexical rules (FHIR R4 §2.24.0.1 "Primitive Types").
public enum PrimitiveType: String, Sendable, CaseIterable {
    case boolean, integer, positiveInt, unsignedInt, decimal
    case string, markdown, code, id, xhtml
    case uri, url, canonical, oid, uuid
    case base64Binary, date, dateTime, instant, time

    /// Largest string accepted for any primitive (FHIR R4: strings SHALL NOT exceed 1 MB).
    public static let maximumStringLength = 1024 * 1024

    public init?(typeName: String) {
        self.init(rawValue: typeName)
    }

    /// Says what is wrong with a JSON value for this type, nil when it is valid.
    public func problem(with value: JSON) -> String? {
        switch self {
        case .boolean:
            return value.boolValue == nil ? "must be true or false, not a \(value.kindName)" : nil
        case .integer, .positiveInt, .unsignedInt:
            guard case .number(let number) = value else { return "must be a JSON number, not a \(value.kindName)" }
            guard let int = number.intValue, Int64(int) >= Int64(Int32.min), Int64(int) <= Int64(Int32.max) else {
                return "must be a 32-bit integer without fraction or exponent"
            }
            if self == .positiveInt, int < 1 { return "must be 1 or more" }
            if self == .unsignedInt, int < 0 { return "must be 0 or more" }
            return nil
        case .decimal:
            guard case .number(let number) = value else { return "must be a JSON number, not a \(value.kindName)" }
            return number.doubleValue?.isFinite == true ? nil : "must be a finite decimal"
        default:
            guard case .string(let string) = value else { return "must be a JSON string, not a \(value.kindName)" }
            return problem(with: string)
        }
    }

    /// Lexical check for the string-valued types.
    public func problem(with string: String) -> String? {
        if string.isEmpty { return "must not be empty (omit the element instead)" }
        if string.utf8.count > Self.maximumStringLength { return "is longer than 1 MB" }
        switch self {
        case .string, .markdown:
            return nil
        case .code:
            if string.first!.isWhitespace || string.last!.isWhitespace || string.contains("  ")
                || string.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\t" })
            {
                return "is not a valid code (no leading, trailing or repeated whitespace)"
            }
            return nil
        case .id:
            return Self.isValidID(string) ? nil : "is not a valid id (1 to 64 of A-Z a-z 0-9 - .)"
        case .uri, .url, .canonical:
            return string.unicodeScalars.contains(where: { $0.properties.isWhitespace }) ? "must not contain whitespace" : nil
        case .oid:
            return Self.isValidOID(string) ? nil : "is not a valid oid (urn:oid:1.2.3…)"
        case .uuid:
            return Self.isValidUUIDURN(string) ? nil : "is not a valid uuid (urn:uuid: followed by a lower-case UUID)"
        case .base64Binary:
            return Self.isValidBase64(string) ? nil : "is not valid base64"
        case .date:
            return FHIRDateTime.parse(string, grammar: .date) == nil ? "is not a valid date (YYYY, YYYY-MM or YYYY-MM-DD)" : nil
        case .dateTime:
            return FHIRDateTime.parse(string, grammar: .dateTime) == nil
                ? "is not a valid dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.sss] with a zone)" : nil
        case .instant:
            return FHIRDateTime.parse(string, grammar: .instant) == nil
                ? "is not a valid instant (YYYY-MM-DDThh:mm:ss[.sss] with Z or an offset)" : nil
        case .time:
            return Self.isValidTime(string) ? nil : "is not a valid time (hh:mm:ss[.sss])"
        case .xhtml:
            let trimmed = string.drop(while: { $0.isWhitespace })
            return trimmed.hasPrefix("<div") ? nil : "must be an XHTML <div> element"
        case .boolean, .integer, .positiveInt, .unsignedInt, .decimal:
            return "must not be a string"
        }
    }

    public static func isValidID(_ string: some StringProtocol) -> Bool {
        let utf8 = string.utf8
        guard !utf8.isEmpty, utf8.count <= 64 else { return false }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ".")
        }
    }

    static func isValidOID(_ string: String) -> Bool {
        guard string.hasPrefix("urn:oid:") else { return false }
        let arcs = string.dropFirst(8).split(separator: ".", omittingEmptySubsequences: false)
        guard arcs.count >= 2, let first = arcs.first, ["0", "1", "2"].contains(first) else { return false }
        return arcs.dropFirst().allSatisfy { arc in
            !arc.isEmpty && arc.allSatisfy(\.isASCIIDigit) && (arc == "0" || arc.first != "0")
        }
    }

    static func isValidUUIDURN(_ string: String) -> Bool {
        guard string.hasPrefix("urn:uuid:") else { return false }
        let uuid = Array(string.utf8.dropFirst(9))
        guard uuid.count == 36 else { return false }
        for (index, byte) in uuid.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)) {
                return false
            }
        }
        return true
    }

    static func isValidBase64(_ string: String) -> Bool {
        var count = 0
        var padding = 0
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: " "), 0x0A, 0x0D, 0x09: continue
            case UInt8(ascii: "="): padding += 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding > 0 { return false }
            default: return false
            }
            count += 1
        }
        return count % 4 == 0 && padding <= 2
    }

    static func isValidTime(_ string: String) -> Bool {
        var scanner = Scanner(bytes: Array(string.utf8))
        guard let hour = scanner.digits(2), hour <= 23, scanner.take(UInt8(ascii: ":")),
            let minute = scanner.digits(2), minute <= 59, scanner.take(UInt8(ascii: ":")),
            let second = scanner.digits(2), second <= 60
        else { return false }
        if scanner.take(UInt8(ascii: ".")) {
            guard scanner.digit() != nil else { return false }
            while scanner.digit() != nil {}
        }
        return scanner.atEnd
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
