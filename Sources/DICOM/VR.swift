/// Value representations, DICOM PS3.5 §6.2.
public enum VR: String, Sendable, CaseIterable {
    case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV

    public init?(bytes b0: UInt8, _ b1: UInt8) {
        guard (0x41...0x5A).contains(b0), (0x41...0x5A).contains(b1) else { return nil }
        self.init(rawValue: String(decoding: [b0, b1], as: UTF8.self))
    }

    /// Explicit VR encodings with a reserved 2 bytes and a 32-bit length (PS3.5 §7.1.2).
    public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .UC, .UN, .UR, .UT, .SV, .UV: return true
        default: return false
        }
    }

    /// Character-string VRs; the ones whose text follows the Specific Character Set are `isText`.
    public var isString: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: return true
        default: return false
        }
    }

    /// VRs whose values use the Specific Character Set (PS3.5 §6.1.2.3); the others are ASCII.
    public var usesCharacterSet: Bool {
        switch self {
        case .LO, .LT, .PN, .SH, .ST, .UC, .UT: return true
        default: return false
        }
    }

    /// Strings with a single value: a backslash is part of the text, not a separator.
    public var isSingleValuedText: Bool { self == .LT || self == .ST || self == .UT || self == .UR }

    /// Size of one binary value, for the VRs whose bytes swap by that size between byte orders.
    public var binaryWidth: Int? {
        switch self {
        case .US, .SS, .OW: return 2
        case .UL, .SL, .FL, .OF, .OL: return 4
        case .FD, .OD, .SV, .UV, .OV: return 8
        default: return nil
        }
    }

    /// Byte that pads string values to an even length: NUL for UIDs, space otherwise.
    public var padding: UInt8 { self == .UI ? 0 : 0x20 }

    /// Bulk binary VRs, served as BulkDataURI or InlineBinary in DICOM JSON (PS3.18 §F.2.7).
    public var isBulkBinary: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: return true
        default: return false
        }
    }
}
