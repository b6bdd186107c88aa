/// A JSON value as FHIR needs it: numbers keep their exact lexical form, because FHIR
/// decimals carry precision (`1.50` is not `1.5`, FHIR R4 §2.6.2 datatypes, decimal), and
/// object members keep their order so that what a client sent reads back the same.
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSON])
    case object(JSONObject)
    /// JSON already serialised (a stored resource), written out byte for byte. Never produced
    /// by the parser; it lets a search Bundle embed stored bodies without parsing them.
    case raw(RawJSON)

    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let array) = self { return array }
        return nil
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    public var numberValue: JSONNumber? {
        if case .number(let number) = self { return number }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Member of an object, nil for anything else.
    public subscript(key: String) -> JSON? {
        objectValue?[key]
    }

    /// A short name of the JSON kind, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object, .raw: "object"
        }
    }
}

/// A JSON number kept as written.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(text: String) {
        self.text = text
    }

    public init(_ value: Int) {
        self.text = String(value)
    }

    public init(_ value: Double) {
        if value.rounded() == value, abs(value) < 1e15 {
            self.text = String(Int64(value))
        } else {
            self.text = String(value)
        }
    }

    public var doubleValue: Double? { Double(text) }

    /// The value as an integer when the lexeme has no fraction or exponent.
    public var intValue: Int? { Int(text) }

    public var description: String { text }
}

/// An ordered JSON object. Members are few (tens at most in FHIR), so a linear scan beats
/// hashing and keeps the client's order.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var members: [(key: String, value: JSON)]

    public init() {
        self.members = []
    }

    public init(_ members: [(key: String, value: JSON)]) {
        self.members = members
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> JSON? {
        get {
            for member in members where member.key == key {
                return member.value
            }
            return nil
        }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue {
                    members[index].value = newValue
                } else {
                    members.remove(at: index)
                }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// Sets a member, placing a new one right after `after` when that member exists (used to
    /// keep `resourceType`, `id`, `meta` at the top of a resource).
    public mutating func set(_ key: String, _ value: JSON, after: String?) {
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
            return
        }
        if let after, let index = members.firstIndex(where: { $0.key == after }) {
            members.insert((key, value), at: index + 1)
        } else if after == nil {
            members.insert((key, value), at: 0)
        } else {
            members.append((key, value))
        }
    }

    public mutating func removeValue(forKey key: String) {
        members.removeAll { $0.key == key }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSON)]> {
        members.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for member in lhs.members {
            guard let other = rhs[member.key], other == member.value else { return false }
        }
        return true
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
}

/// Bytes of one serialised JSON value.
public struct RawJSON: Sendable, Equatable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }
}
