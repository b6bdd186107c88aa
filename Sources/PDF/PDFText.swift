import Foundation

/// Text in the standard Helvetica faces: WinAnsi bytes, string escapes, approximate widths
/// (for wrapping) and line breaking.
enum PDFText {
    /// Helvetica advance widths (per 1000 em) of printable ASCII, from the font's metrics;
    /// accented letters take their base letter's width.
    static let regular: [Int] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584,
        584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611,
        278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500,
        500, 500, 334, 260, 334, 584,
    ]

    /// Width of `text` in points.
    static func width(_ text: String, size: Double, bold: Bool) -> Double {
        var units = 0.0
        for scalar in text.unicodeScalars {
            let base = scalar.properties.canonicalCombiningClass == .notReordered ? baseLetter(scalar) : scalar
            if (32...126).contains(base.value) {
                units += Double(regular[Int(base.value) - 32])
            } else {
                units += 556
            }
        }
        return units * size / 1000 * (bold ? 1.07 : 1)
    }

    static func baseLetter(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        guard scalar.value > 126 else { return scalar }
        let decomposed = String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars
        return decomposed.first ?? scalar
    }

    /// Lines of at most `width` points, broken at spaces (a word longer than a line is cut).
    static func wrap(_ text: String, size: Double, bold: Bool, width: Double) -> [String] {
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ") {
                let candidate = line.isEmpty ? String(word) : line + " " + word
                if self.width(candidate, size: size, bold: bold) <= width {
                    line = candidate
                    continue
                }
                if !line.isEmpty { lines.append(line) }
                var rest = String(word)
                while self.width(rest, size: size, bold: bold) > width, rest.count > 1 {
                    var cut = rest.count - 1
                    while cut > 1, self.width(String(rest.prefix(cut)), size: size, bold: bold) > width { cut -= 1 }
                    lines.append(String(rest.prefix(cut)))
                    rest = String(rest.dropFirst(cut))
                }
                line = rest
            }
            lines.append(line)
        }
        return lines.isEmpty ? [""] : lines
    }

    /// WinAnsiEncoding bytes of the characters it has (ISO 32000-1 Annex D.2); others become "?".
    static func winAnsi(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            switch scalar.value {
            case 0x20...0x7E, 0xA0...0xFF: bytes.append(UInt8(scalar.value))
            case 0x20AC: bytes.append(0x80)
            case 0x2019: bytes.append(0x92)
            case 0x2018: bytes.append(0x91)
            case 0x201C: bytes.append(0x93)
            case 0x201D: bytes.append(0x94)
            case 0x2022: bytes.append(0x95)
            case 0x2013: bytes.append(0x96)
            case 0x2014: bytes.append(0x97)
            case 0x2026: bytes.append(0x85)
            case 0x0152: bytes.append(0x8C)
            case 0x0153: bytes.append(0x9C)
            case 0x202F, 0x2009: bytes.append(0x20)
            case 0x2192: bytes.append(contentsOf: Array("->".utf8))
            case 0x2265: bytes.append(contentsOf: Array(">=".utf8))
            case 0x2264: bytes.append(contentsOf: Array("<=".utf8))
            case 0x09: bytes.append(0x20)
            default: bytes.append(0x3F)
            }
        }
        return bytes
    }

    /// A PDF literal string's content: WinAnsi bytes with `(`, `)` and `\` escaped, and bytes
    /// past ASCII as octal escapes so the content stream stays 7-bit.
    static func escaped(_ text: String) -> String {
        var out = ""
        for byte in winAnsi(text) {
            switch byte {
            case 0x28, 0x29, 0x5C: out += "\\" + String(UnicodeScalar(byte))
            case 0x20...0x7E: out += String(UnicodeScalar(byte))
            default: out += "\\" + String(byte, radix: 8).leftPadded(to: 3)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
