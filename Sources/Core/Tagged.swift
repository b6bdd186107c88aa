/// A value tagged with the kind of thing it identifies, so that a tenant id cannot be passed
/// where a resource id is expected (STYLE habit 4).
public struct Tagged<Tag, RawValue: Hashable & Sendable>: RawRepresentable, Hashable, Sendable {
    public var rawValue: RawValue

    public init(rawValue: RawValue) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: RawValue) {
        self.rawValue = rawValue
    }
}

extension Tagged: CustomStringConvertible {
    public var description: String { "\(rawValue)" }
}

extension Tagged: Comparable where RawValue: Comparable {
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension Tagged: ExpressibleByStringLiteral, ExpressibleByUnicodeScalarLiteral,
    ExpressibleByExtendedGraphemeClusterLiteral
where RawValue == String {
    public init(stringLiteral value: String) {
        self.rawValue = value
    }
}
