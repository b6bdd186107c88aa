import Foundation

/// Folds text for string search: case- and accent-insensitive (FHIR R4 §3.1.1.4.4 "string"),
/// so that `name=helene` finds "Hélène" and `name=coeur` finds "Cœur".
public enum StringNormalizer {
    /// Longest normalised value kept in the index; longer values are searched on their start.
    public static let maximumIndexedLength = 200

    public static func normalize(_ text: some StringProtocol) -> String {
        var isPlainASCII = true
        for byte in text.utf8 where byte >= 0x80 {
            isPlainASCII = false
            break
        }
        var result = ""
        if isPlainASCII {
            result = text.lowercased()
        } else {
            result.reserveCapacity(text.utf8.count)
            for scalar in String(text).decomposedStringWithCanonicalMapping.unicodeScalars {
                if scalar.properties.generalCategory == .nonspacingMark { continue }
                switch scalar {
                case "œ", "Œ": result += "oe"
                case "æ", "Æ": result += "ae"
                case "ß": result += "ss"
                case "ø", "Ø": result += "o"
                case "đ", "Đ": result += "d"
                case "ł", "Ł": result += "l"
                default: result.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
        }
        if result.count > maximumIndexedLength {
            result = String(result.prefix(maximumIndexedLength))
        }
        return result
    }
}
