#if canImport(Glibc)
import Glibc
#endif

/// Specific Character Set (0008,0005), DICOM PS3.3 §C.12.1.1.2 and PS3.5 §6.1: how the text of
/// LO, LT, PN, SH, ST, UC and UT values is encoded. Single-byte and UTF-8 sets decode directly;
/// ISO 2022 code extensions switch the G0/G1 sets on escape sequences, and every switch back to
/// the initial sets at the delimiters the standard names (PS3.5 §6.1.2.5.3).
public struct SpecificCharacterSet: Sendable, Equatable {
    public let terms: [String]

    public static let `default` = SpecificCharacterSet(terms: [])
    public static let utf8 = SpecificCharacterSet(terms: ["ISO_IR 192"])

    public init(terms: [String]) { self.terms = terms }

    var usesCodeExtensions: Bool { terms.contains { $0.hasPrefix("ISO 2022") } }
    public var isUTF8: Bool { terms.first == "ISO_IR 192" }

    /// The iconv name of a single-byte or multi-byte defined term without code extensions.
    static func iconvName(_ term: String) -> String? {
        var key = term
        for prefix in ["ISO 2022 IR ", "ISO_IR "] where key.hasPrefix(prefix) { key = "ISO_" + key.dropFirst(prefix.count) }
        switch key {
        case "", "ISO_6": return "ASCII"
        case "ISO_100": return "ISO-8859-1"
        case "ISO_101": return "ISO-8859-2"
        case "ISO_109": return "ISO-8859-3"
        case "ISO_110": return "ISO-8859-4"
        case "ISO_144": return "ISO-8859-5"
        case "ISO_127": return "ISO-8859-6"
        case "ISO_126": return "ISO-8859-7"
        case "ISO_138": return "ISO-8859-8"
        case "ISO_148": return "ISO-8859-9"
        case "ISO_203": return "ISO-8859-15"
        case "ISO_166": return "TIS-620"
        case "ISO_13": return "SHIFT_JIS"
        case "ISO_192": return "UTF-8"
        case "GB18030": return "GB18030"
        case "GBK": return "GBK"
        default: return nil
        }
    }

    /// Decodes a value; never fails (undecodable bytes become U+FFFD).
    public func decode(_ bytes: [UInt8], vr: VR) -> String {
        if bytes.allSatisfy({ $0 < 0x80 && $0 != 0x1B }) { return String(decoding: bytes, as: UTF8.self) }
        if usesCodeExtensions || bytes.contains(0x1B) { return decodeISO2022(bytes, vr: vr) }
        let name = terms.first.flatMap(Self.iconvName) ?? "ISO-8859-1"
        switch name {
        case "UTF-8": return String(decoding: bytes, as: UTF8.self)
        case "ISO-8859-1", "ASCII": return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default: return Self.iconvDecode(bytes, from: name) ?? String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Encodes text for storage: UTF-8 under ISO_IR 192 or without a declared set, Latin-1 under
    /// ISO_IR 100 when every character fits.
    public func encode(_ text: String) -> [UInt8] {
        if terms.first == "ISO_IR 100", text.unicodeScalars.allSatisfy({ $0.value < 0x100 }) {
            return text.unicodeScalars.map { UInt8($0.value) }
        }
        return Array(text.utf8)
    }

    private enum CodeElement: Equatable {
        case ascii
        case jisX0201Katakana
        case jisX0208
        case jisX0212
        case singleByte(String)
        case euc(String)
    }

    private func initialSets() -> (g0: CodeElement, g1: CodeElement?) {
        switch terms.first ?? "" {
        case "ISO 2022 IR 13": return (.ascii, .jisX0201Katakana)
        case "ISO 2022 IR 100": return (.ascii, .singleByte("ISO-8859-1"))
        case "ISO 2022 IR 101": return (.ascii, .singleByte("ISO-8859-2"))
        case "ISO 2022 IR 144": return (.ascii, .singleByte("ISO-8859-5"))
        case "ISO 2022 IR 126": return (.ascii, .singleByte("ISO-8859-7"))
        case "ISO 2022 IR 127": return (.ascii, .singleByte("ISO-8859-6"))
        case "ISO 2022 IR 138": return (.ascii, .singleByte("ISO-8859-8"))
        case "ISO 2022 IR 148": return (.ascii, .singleByte("ISO-8859-9"))
        case "ISO 2022 IR 149": return (.ascii, .euc("EUC-KR"))
        case "ISO 2022 IR 58": return (.ascii, .euc("GB2312"))
        default: return (.ascii, nil)
        }
    }

    /// Escape sequences of PS3.3 Table C.12-3/C.12-4 and the code element each selects.
    private static func escape(_ bytes: [UInt8], at index: Int) -> (length: Int, g0: CodeElement?, g1: CodeElement?)? {
        func at(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        switch (at(1), at(2), at(3)) {
        case (0x28, 0x42, _), (0x28, 0x4A, _): return (3, .ascii, nil)
        case (0x29, 0x49, _): return (3, nil, .jisX0201Katakana)
        case (0x24, 0x42, _), (0x24, 0x40, _): return (3, .jisX0208, nil)
        case (0x24, 0x28, 0x44): return (4, .jisX0212, nil)
        case (0x24, 0x29, 0x43): return (4, nil, .euc("EUC-KR"))
        case (0x24, 0x29, 0x41): return (4, nil, .euc("GB2312"))
        case (0x2D, let final?, _):
            let names: [UInt8: String] = [0x41: "ISO-8859-1", 0x42: "ISO-8859-2", 0x43: "ISO-8859-3", 0x44: "ISO-8859-4",
                                          0x4C: "ISO-8859-5", 0x47: "ISO-8859-6", 0x46: "ISO-8859-7", 0x48: "ISO-8859-8",
                                          0x4D: "ISO-8859-9", 0x54: "TIS-620", 0x62: "ISO-8859-15"]
            return names[final].map { (3, nil, .singleByte($0)) }
        default: return nil
        }
    }

    private func decodeISO2022(_ bytes: [UInt8], vr: VR) -> String {
        let initial = initialSets()
        var g0 = initial.g0
        var g1 = initial.g1
        var output = ""
        var run: [UInt8] = []
        var runElement: CodeElement = .ascii

        func flush() {
            guard !run.isEmpty else { return }
            output += Self.decode(run, as: runElement)
            run.removeAll(keepingCapacity: true)
        }
        func emit(_ byte: UInt8, as element: CodeElement) {
            if element != runElement { flush(); runElement = element }
            run.append(byte)
        }

        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x1B, let escape = Self.escape(bytes, at: index) {
                flush()
                if let newG0 = escape.g0 { g0 = newG0 }
                if let newG1 = escape.g1 { g1 = newG1 }
                index += escape.length
                continue
            }
            let isDelimiter = byte == 0x0D || byte == 0x0A || byte == 0x09 || byte == 0x0C
                || (vr == .PN && (byte == 0x5E || byte == 0x3D))
            if isDelimiter && (g0 == .ascii || g0 == .jisX0201Katakana) {
                emit(byte, as: .ascii)
                g0 = initial.g0
                g1 = initial.g1
            } else if byte < 0x80 {
                emit(byte, as: g0)
            } else {
                emit(byte, as: g1 ?? .singleByte("ISO-8859-1"))
            }
            index += 1
        }
        flush()
        return output
    }

    private static func decode(_ run: [UInt8], as element: CodeElement) -> String {
        switch element {
        case .ascii: return String(decoding: run, as: UTF8.self)
        case .jisX0201Katakana:
            return String(String.UnicodeScalarView(run.map { byte in
                (0xA1...0xDF).contains(byte) ? Unicode.Scalar(0xFF61 + UInt32(byte - 0xA1))! : Unicode.Scalar(byte)
            }))
        case .jisX0208: return iconvDecode(run.map { $0 | 0x80 }, from: "EUC-JP") ?? "\u{FFFD}"
        case .jisX0212:
            var euc: [UInt8] = []
            for pair in stride(from: 0, to: run.count - 1, by: 2) { euc += [0x8F, run[pair] | 0x80, run[pair + 1] | 0x80] }
            return iconvDecode(euc, from: "EUC-JP") ?? "\u{FFFD}"
        case .singleByte(let name):
            if name == "ISO-8859-1" { return String(String.UnicodeScalarView(run.map { Unicode.Scalar($0) })) }
            return iconvDecode(run, from: name) ?? "\u{FFFD}"
        case .euc(let name): return iconvDecode(run, from: name) ?? "\u{FFFD}"
        }
    }

    /// Converts with the C library's iconv; nil when the set is unknown or the bytes invalid.
    static func iconvDecode(_ bytes: [UInt8], from name: String) -> String? {
        let descriptor = iconv_open("UTF-8", name)
        guard let descriptor, descriptor != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        defer { iconv_close(descriptor) }
        var input = bytes.map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: bytes.count * 4 + 8)
        let capacity = output.count
        let remaining: Int = input.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                var inputPointer: UnsafeMutablePointer<CChar>? = inputBuffer.baseAddress
                var inputLeft = inputBuffer.count
                var outputPointer: UnsafeMutablePointer<CChar>? = outputBuffer.baseAddress
                var outputLeft = capacity
                while inputLeft > 0 {
                    if iconv(descriptor, &inputPointer, &inputLeft, &outputPointer, &outputLeft) == -1 {
                        // Skip one undecodable byte and go on, as a replacement character.
                        guard inputLeft > 0, outputLeft >= 3 else { break }
                        inputPointer = inputPointer.map { $0 + 1 }
                        inputLeft -= 1
                        for byte: UInt8 in [0xEF, 0xBF, 0xBD] {
                            outputPointer?.pointee = CChar(bitPattern: byte)
                            outputPointer = outputPointer.map { $0 + 1 }
                        }
                        outputLeft -= 3
                    }
                }
                return outputLeft
            }
        }
        return String(decoding: output.prefix(capacity - remaining).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
