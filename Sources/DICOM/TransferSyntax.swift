/// A transfer syntax (DICOM PS3.5 §10): how a data set after the file meta group is encoded.
public struct TransferSyntax: Hashable, Sendable {
    public let uid: String

    public init(uid: String) { self.uid = uid }

    public static let implicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2")
    public static let explicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1")
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1.99")
    public static let explicitVRBigEndian = TransferSyntax(uid: "1.2.840.10008.1.2.2")
    public static let rleLossless = TransferSyntax(uid: "1.2.840.10008.1.2.5")
    public static let jpegBaseline = TransferSyntax(uid: "1.2.840.10008.1.2.4.50")

    public var isExplicitVR: Bool { self != .implicitVRLittleEndian }
    public var isBigEndian: Bool { self == .explicitVRBigEndian }
    public var isDeflated: Bool { self == .deflatedExplicitVRLittleEndian || uid == "1.2.840.10008.1.2.8.1" }
    /// Pixel data held as fragments of a compressed stream (PS3.5 §A.4): every syntax but the
    /// three native ones and deflate.
    public var isEncapsulated: Bool {
        switch self {
        case .implicitVRLittleEndian, .explicitVRLittleEndian, .explicitVRBigEndian, .deflatedExplicitVRLittleEndian: return false
        default: return true
        }
    }
    /// Syntaxes whose pixel data Hygie can decode (for rendering and for `frames` in a native syntax).
    public var canDecodePixels: Bool { !isEncapsulated || self == .rleLossless }
}
