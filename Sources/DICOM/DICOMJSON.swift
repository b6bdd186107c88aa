import Foundation

/// The DICOM JSON model (PS3.18 §F.2): a data set as an object keyed by tag, each attribute
/// with its VR and its values; large binary values become a BulkDataURI the client fetches
/// separately, small ones InlineBinary (base64).
public enum DICOMJSON {
    /// Decides the BulkDataURI of a binary attribute (nil to inline it instead).
    public typealias BulkDataLocator = @Sendable (_ path: [Tag], _ element: DataElement) -> String?

    /// Values at most this long are inlined even when a locator is given.
    public static let inlineThreshold = 256

    public static func encode(_ dataSet: DataSet, bulkData: BulkDataLocator? = nil, include: ((Tag) -> Bool)? = nil) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(4096)
        write(dataSet, into: &output, path: [], bulkData: bulkData, include: include)
        return output
    }

    /// Several data sets as a JSON array (QIDO results, metadata of a series).
    public static func encodeArray(_ dataSets: [DataSet], bulkData: BulkDataLocator? = nil, include: ((Tag) -> Bool)? = nil) -> [UInt8] {
        var output: [UInt8] = [UInt8(ascii: "[")]
        output.reserveCapacity(dataSets.count * 2048)
        for (index, dataSet) in dataSets.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            write(dataSet, into: &output, path: [], bulkData: bulkData, include: include)
        }
        output.append(UInt8(ascii: "]"))
        return output
    }

    /// Appends one object; used to stream arrays piece by piece.
    public static func write(_ dataSet: DataSet, into output: inout [UInt8], path: [Tag], bulkData: BulkDataLocator?, include: ((Tag) -> Bool)?) {
        output.append(UInt8(ascii: "{"))
        var first = true
        for element in dataSet.elements where !element.tag.isGroupLength {
            if path.isEmpty, let include, !include(element.tag) { continue }
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            output.append(UInt8(ascii: "\""))
            appendHex(element.tag.value, into: &output)
            output.append(contentsOf: "\":{\"vr\":\"".utf8)
            output.append(contentsOf: element.vr.rawValue.utf8)
            output.append(UInt8(ascii: "\""))
            writeValue(element, of: dataSet, into: &output, parent: path, bulkData: bulkData)
            output.append(UInt8(ascii: "}"))
        }
        output.append(UInt8(ascii: "}"))
    }

    /// The value of `element`, whose path is `parent` followed by its tag (built only for
    /// sequences and bulk data, which need it).
    private static func writeValue(_ element: DataElement, of dataSet: DataSet, into output: inout [UInt8], parent: [Tag], bulkData: BulkDataLocator?) {
        func open() { output.append(contentsOf: ",\"Value\":[".utf8) }
        func close() { output.append(UInt8(ascii: "]")) }
        switch element.value {
        case .sequence(let items):
            guard !items.isEmpty else { return }
            open()
            let path = parent + [element.tag]
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(item, into: &output, path: path, bulkData: bulkData, include: nil)
            }
            close()
        case .fragments:
            if let uri = bulkData?(parent + [element.tag], element) { writeKey("BulkDataURI", string: uri, into: &output) }
        case .bytes(let bytes):
            guard !bytes.isEmpty else { return }
            let vr = element.vr
            if vr.isBulkBinary {
                if bytes.count > inlineThreshold || element.tag == .pixelData, let uri = bulkData?(parent + [element.tag], element) {
                    writeKey("BulkDataURI", string: uri, into: &output)
                } else {
                    writeKey("InlineBinary", string: Data(bytes).base64EncodedString(), into: &output)
                }
                return
            }
            if vr.isString {
                // ASCII values as they are; others decoded in the data set's character set.
                let values = asciiValues(bytes, vr: vr) ?? dataSet.strings(element.tag).map { Array($0.utf8)[...] }
                writeText(values, vr: vr, into: &output)
                return
            }
            switch vr {
            case .AT:
                open()
                for index in stride(from: 0, to: bytes.count - 3, by: 4) {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    let tag = Tag(UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8, UInt16(bytes[index + 2]) | UInt16(bytes[index + 3]) << 8)
                    appendString(tag.hex, into: &output)
                }
                close()
            case .US, .SS, .UL, .SL, .SV, .UV:
                open()
                output.append(contentsOf: dataSet.integers(element.tag).map(String.init).joined(separator: ",").utf8)
                close()
            case .FL, .FD:
                open()
                output.append(contentsOf: dataSet.doubles(element.tag).map(jsonDouble).joined(separator: ",").utf8)
                close()
            default:
                // Any other VR: no value the JSON model can carry.
                open()
                close()
            }
        }
    }

    /// The values of a string element whose bytes are all ASCII (without ESC), split and
    /// trimmed as `DataSet.strings` does, or nil for other bytes. Every character set reads
    /// such bytes as ASCII, so they are written as they are: most values of most files, at
    /// store time (each instance's metadata is encoded once) without a String per value.
    static func asciiValues(_ bytes: [UInt8], vr: VR) -> [ArraySlice<UInt8>]? {
        guard bytes.allSatisfy({ $0 < 0x80 && $0 != 0x1B }) else { return nil }
        let values = vr.isSingleValuedText ? [bytes[...]] : bytes.split(separator: UInt8(ascii: "\\"), omittingEmptySubsequences: false)
        return values.map { value in
            var start = value.startIndex, end = value.endIndex
            while end > start, value[end - 1] == UInt8(ascii: " ") || value[end - 1] == 0 { end -= 1 }
            while !vr.isSingleValuedText, start < end, value[start] == UInt8(ascii: " ") { start += 1 }
            return value[start..<end]
        }
    }

    /// The `Value` member of a string element from its values' UTF-8 bytes: person names as
    /// objects of their component groups, IS/DS as JSON numbers, empty values as null.
    private static func writeText(_ values: [ArraySlice<UInt8>], vr: VR, into output: inout [UInt8]) {
        output.append(contentsOf: ",\"Value\":[".utf8)
        for (index, value) in values.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            switch vr {
            case .PN:
                if value.isEmpty { output.append(contentsOf: "null".utf8); continue }
                let groups = value.split(separator: UInt8(ascii: "="), omittingEmptySubsequences: false)
                output.append(UInt8(ascii: "{"))
                var wrote = false
                for (key, group) in zip(["Alphabetic", "Ideographic", "Phonetic"], groups) where !group.isEmpty {
                    if wrote { output.append(UInt8(ascii: ",")) }
                    wrote = true
                    appendString(key.utf8, into: &output)
                    output.append(UInt8(ascii: ":"))
                    appendString(group, into: &output)
                }
                output.append(UInt8(ascii: "}"))
            case .IS, .DS:
                output.append(contentsOf: jsonNumber(String(decoding: value, as: UTF8.self)).utf8)
            default:
                if value.isEmpty { output.append(contentsOf: "null".utf8) } else { appendString(value, into: &output) }
            }
        }
        output.append(UInt8(ascii: "]"))
    }

    private static func writeKey(_ key: String, string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: ","))
        appendString(key, into: &output)
        output.append(UInt8(ascii: ":"))
        appendString(string, into: &output)
    }

    static func jsonDouble(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A DS/IS value as a JSON number: kept as written when that is valid JSON, else normalised.
    static func jsonNumber(_ text: String) -> String {
        guard !text.isEmpty, let value = Double(text) else { return "null" }
        if isJSONNumber(text) { return text }
        return jsonDouble(value)
    }

    static func isJSONNumber(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        guard let first = bytes.first, (48...57).contains(first) else { return false }
        if first == 48, bytes.count > 1, (48...57).contains(bytes[bytes.startIndex + 1]) { return false }
        var seenDot = false, seenExponent = false, previous: UInt8 = first
        for byte in bytes.dropFirst() {
            switch byte {
            case 48...57: break
            case UInt8(ascii: "."): if seenDot || seenExponent { return false }; seenDot = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"): if seenExponent { return false }; seenExponent = true
            case UInt8(ascii: "+"), UInt8(ascii: "-"): if previous != UInt8(ascii: "e") && previous != UInt8(ascii: "E") { return false }
            default: return false
            }
            previous = byte
        }
        return (48...57).contains(previous)
    }

    /// A tag as eight uppercase hexadecimal digits.
    static func appendHex(_ value: UInt32, into output: inout [UInt8]) {
        for shift in stride(from: 28, through: 0, by: -4) {
            let digit = UInt8((value >> UInt32(shift)) & 0xF)
            output.append(digit < 10 ? digit + 48 : digit + 55)
        }
    }

    static func appendString(_ text: String, into output: inout [UInt8]) {
        appendString(text.utf8, into: &output)
    }

    /// UTF-8 bytes as a JSON string, escaped.
    static func appendString(_ utf8: some Sequence<UInt8>, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): output.append(contentsOf: [92, 92])
            case 0x0A: output.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = String(byte, radix: 16)
                output.append(contentsOf: Array(("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8))
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
