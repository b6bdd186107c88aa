/// Why a DICOM stream could not be read, written or decoded; each says what was wrong, in words
/// a user uploading a file can act on.
public enum DICOMError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated(offset: Int)
    case notDICOM
    case missingTransferSyntax
    case invalidElement(Tag, offset: Int, reason: String)
    case nestingTooDeep(offset: Int)
    case deflate(String)
    case missingAttribute(Tag)
    case cannotDecodePixels(String)

    public var description: String {
        switch self {
        case .truncated(let offset): return "The DICOM data ends early (at byte \(offset)): the file is truncated."
        case .notDICOM: return "This is not a DICOM file: no DICM prefix and no recognisable data set."
        case .missingTransferSyntax: return "The file meta information has no Transfer Syntax UID (0002,0010)."
        case .invalidElement(let tag, let offset, let reason): return "Element \(tag) at byte \(offset) is invalid: \(reason)."
        case .nestingTooDeep(let offset): return "Sequences are nested too deeply (at byte \(offset))."
        case .deflate(let reason): return "The deflated data set cannot be inflated: \(reason)."
        case .missingAttribute(let tag): return "The required attribute \(tag) \(DataDictionary.entry(for: tag)?.keyword ?? "") is missing or empty."
        case .cannotDecodePixels(let reason): return "The pixel data cannot be decoded: \(reason)."
        }
    }
}
