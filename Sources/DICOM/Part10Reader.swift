/// A DICOM Part 10 file (PS3.10 §7): file meta information and the data set, with the transfer
/// syntax the data set was encoded in.
public struct DICOMFile: Sendable {
    public var meta: DataSet
    public var dataSet: DataSet
    public var transferSyntax: TransferSyntax

    public init(meta: DataSet, dataSet: DataSet, transferSyntax: TransferSyntax) {
        self.meta = meta
        self.dataSet = dataSet
        self.transferSyntax = transferSyntax
    }

    /// Reads a Part 10 file, or a bare data set without preamble and meta information (whose
    /// encoding is then guessed from its first element).
    public static func read(_ bytes: [UInt8]) throws -> DICOMFile {
        var meta = DataSet()
        var start = 0
        if bytes.count >= 132, bytes[128] == 0x44, bytes[129] == 0x49, bytes[130] == 0x43, bytes[131] == 0x4D {
            start = 132
        } else if bytes.count >= 4, bytes[0] == 0x44, bytes[1] == 0x49, bytes[2] == 0x43, bytes[3] == 0x4D {
            start = 4
        }
        var reader = DataSetReader(bytes: bytes, position: start, explicitVR: true, bigEndian: false)
        // The meta group is always explicit VR little endian (PS3.10 §7.1), group 0002 only.
        while reader.position + 6 <= bytes.count, reader.peekGroup() == 0x0002 {
            meta.appendRead(try reader.readElement(characterSet: .default, depth: 0))
        }
        // Without a Transfer Syntax UID (no meta group, or one missing it) the first element tells.
        let syntax: TransferSyntax
        if let uid = meta.string(.transferSyntaxUID) {
            syntax = TransferSyntax(uid: uid)
        } else if reader.position < bytes.count {
            syntax = try guessSyntax(bytes, at: reader.position)
        } else {
            throw DICOMError.missingTransferSyntax
        }
        var body = bytes
        var position = reader.position
        if syntax.isDeflated {
            body = try Deflate.inflate(Array(bytes[position...]), raw: true)
            position = 0
        }
        var bodyReader = DataSetReader(bytes: body, position: position, explicitVR: syntax.isExplicitVR, bigEndian: syntax.isBigEndian)
        let dataSet = try bodyReader.readDataSet(until: body.count, characterSet: .default, depth: 0)
        if dataSet.isEmpty && meta.isEmpty { throw DICOMError.notDICOM }
        return DICOMFile(meta: meta, dataSet: dataSet, transferSyntax: syntax)
    }

    /// The meta information of a Part 10 file and where its data set starts, without parsing
    /// the data set (to send a stored file over DIMSE as it is).
    public static func splitMeta(_ bytes: [UInt8]) throws -> (meta: DataSet, syntax: TransferSyntax, bodyOffset: Int) {
        guard bytes.count >= 132, bytes[128] == 0x44, bytes[129] == 0x49, bytes[130] == 0x43, bytes[131] == 0x4D else { throw DICOMError.notDICOM }
        var meta = DataSet()
        var reader = DataSetReader(bytes: bytes, position: 132, explicitVR: true, bigEndian: false)
        while reader.position + 6 <= bytes.count, reader.peekGroup() == 0x0002 {
            meta.appendRead(try reader.readElement(characterSet: .default, depth: 0))
        }
        guard let uid = meta.string(.transferSyntaxUID) else { throw DICOMError.missingTransferSyntax }
        return (meta, TransferSyntax(uid: uid), reader.position)
    }

    /// Reads a data set encoded in `syntax` without meta information, as DIMSE carries it.
    public static func readDataSet(_ bytes: [UInt8], syntax: TransferSyntax) throws -> DataSet {
        var body = bytes
        if syntax.isDeflated { body = try Deflate.inflate(bytes, raw: true) }
        var reader = DataSetReader(bytes: body, position: 0, explicitVR: syntax.isExplicitVR, bigEndian: syntax.isBigEndian)
        return try reader.readDataSet(until: body.count, characterSet: .default, depth: 0)
    }

    /// Works out the encoding of a data set with no meta information from its first element:
    /// group order tells the byte order, two upper-case letters after the tag an explicit VR.
    static func guessSyntax(_ bytes: [UInt8], at position: Int) throws -> TransferSyntax {
        guard position + 8 <= bytes.count else { throw DICOMError.notDICOM }
        let littleGroup = UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
        let bigEndian = littleGroup > 0x00FF && (UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])) <= 0x00FF
        let explicit = VR(bytes: bytes[position + 4], bytes[position + 5]) != nil
        let group = bigEndian ? UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1]) : littleGroup
        guard group >= 0x0002, group <= 0x7FE0 || group == 0xFFFE else { throw DICOMError.notDICOM }
        if bigEndian { return .explicitVRBigEndian }
        return explicit ? .explicitVRLittleEndian : .implicitVRLittleEndian
    }
}

/// Reads elements from a byte buffer in one encoding (PS3.5 §7). Bounds are checked before every
/// read, so a truncated or hostile stream ends in a `DICOMError`, never out of range.
struct DataSetReader {
    let bytes: [UInt8]
    var position: Int
    var explicitVR: Bool
    var bigEndian: Bool
    static let maximumDepth = 32

    init(bytes: [UInt8], position: Int, explicitVR: Bool, bigEndian: Bool) {
        self.bytes = bytes
        self.position = position
        self.explicitVR = explicitVR
        self.bigEndian = bigEndian
    }

    func peekGroup() -> UInt16 {
        bigEndian ? UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1]) : UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
    }

    mutating func readUInt16() throws -> UInt16 {
        guard position + 2 <= bytes.count else { throw DICOMError.truncated(offset: position) }
        defer { position += 2 }
        return bigEndian ? UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1]) : UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
    }

    mutating func readUInt32() throws -> UInt32 {
        let first = UInt32(try readUInt16())
        let second = UInt32(try readUInt16())
        return bigEndian ? first << 16 | second : second << 16 | first
    }

    mutating func readTag() throws -> Tag {
        let group = try readUInt16()
        let element = try readUInt16()
        return Tag(group, element)
    }

    mutating func take(_ count: Int, at tag: Tag) throws -> [UInt8] {
        guard count >= 0, position + count <= bytes.count else { throw DICOMError.truncated(offset: position) }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Elements until `end` (defined length) or the item delimitation (`end == nil`).
    mutating func readDataSet(until end: Int?, characterSet: SpecificCharacterSet, depth: Int) throws -> DataSet {
        var dataSet = DataSet()
        dataSet.characterSet = characterSet
        while position < (end ?? bytes.count) {
            if end == nil {
                let save = position
                let tag = try readTag()
                if tag == .itemDelimitation {
                    _ = try readUInt32()
                    return dataSet
                }
                position = save
            }
            // Trailing padding after the last element (some writers add NULs) ends the data set.
            if end != nil, position + 4 <= bytes.count, bytes[position..<(position + 4)].allSatisfy({ $0 == 0 }),
               bytes[position...].allSatisfy({ $0 == 0 }) {
                position = bytes.count
                break
            }
            let element = try readElement(characterSet: dataSet.characterSet, depth: depth)
            if element.tag == .specificCharacterSet {
                dataSet.characterSet = SpecificCharacterSet(terms: DataSet.asciiValues(element.bytes))
            }
            dataSet.appendRead(element)
        }
        if end == nil { throw DICOMError.truncated(offset: position) }
        return dataSet
    }

    mutating func readElement(characterSet: SpecificCharacterSet, depth: Int) throws -> DataElement {
        let offset = position
        let tag = try readTag()
        if tag.group == 0xFFFE {
            throw DICOMError.invalidElement(tag, offset: offset, reason: "an item or delimiter outside a sequence")
        }
        var vr: VR
        let length: UInt32
        if explicitVR {
            guard position + 2 <= bytes.count else { throw DICOMError.truncated(offset: position) }
            if let explicit = VR(bytes: bytes[position], bytes[position + 1]) {
                vr = explicit
                position += 2
                if vr.hasLongLength {
                    position += 2
                    length = try readUInt32()
                } else {
                    length = UInt32(try readUInt16())
                }
            } else {
                // Not a VR: the writer switched to implicit VR for this element (seen in the wild).
                vr = DataDictionary.impliedVR(for: tag)
                length = try readUInt32()
            }
        } else {
            vr = DataDictionary.impliedVR(for: tag)
            length = try readUInt32()
        }

        if length == 0xFFFF_FFFF {
            if tag == .pixelData || tag == .floatPixelData {
                return DataElement(tag: tag, vr: vr == .OW ? .OB : vr, value: try readFragments(tag: tag))
            }
            guard vr == .SQ || vr == .UN || !explicitVR else {
                throw DICOMError.invalidElement(tag, offset: offset, reason: "undefined length on a \(vr.rawValue) value")
            }
            // An undefined-length UN value is a sequence encoded in implicit VR little endian (PS3.5 §6.2.2).
            let switchToImplicit = vr == .UN
            let saved = (explicitVR, bigEndian)
            if switchToImplicit { explicitVR = false; bigEndian = false }
            defer { if switchToImplicit { (explicitVR, bigEndian) = saved } }
            return DataElement(tag: tag, vr: .SQ, value: .sequence(try readItems(end: nil, characterSet: characterSet, depth: depth + 1)))
        }
        let count = Int(length)
        guard position + count <= bytes.count else { throw DICOMError.truncated(offset: position) }
        if vr == .SQ {
            return DataElement(tag: tag, vr: .SQ, value: .sequence(try readItems(end: position + count, characterSet: characterSet, depth: depth + 1)))
        }
        if vr == .UN, !explicitVR, count >= 8, looksLikeItem(at: position) {
            // Implicit VR private or unknown sequence with a defined length.
            return DataElement(tag: tag, vr: .SQ, value: .sequence(try readItems(end: position + count, characterSet: characterSet, depth: depth + 1)))
        }
        // A standard attribute sent as UN (written by software that did not know it) is read
        // with the dictionary's VR, as PS3.5 §6.2.2 lets a receiver do: otherwise its value
        // (a Modality, a PatientName) would be invisible to the index and to searches. A UN
        // value is encoded as in implicit VR little endian.
        var fromUN = false
        if vr == .UN, explicitVR, !tag.isPrivate, !tag.isGroupLength, case let known = DataDictionary.impliedVR(for: tag), known != .UN {
            if known == .SQ {
                if count >= 8, looksLikeItem(at: position) {
                    let saved = (explicitVR, bigEndian)
                    (explicitVR, bigEndian) = (false, false)
                    defer { (explicitVR, bigEndian) = saved }
                    return DataElement(tag: tag, vr: .SQ, value: .sequence(try readItems(end: position + count, characterSet: characterSet, depth: depth + 1)))
                }
            } else {
                vr = known
                fromUN = true
            }
        }
        var value = try take(count, at: tag)
        if bigEndian, !fromUN, let width = vr.binaryWidth, width > 1 { Self.swap(&value, width: width) }
        if bigEndian, !fromUN, vr == .AT { Self.swap(&value, width: 2) }
        return DataElement(tag: tag, vr: vr, value: .bytes(value))
    }

    private func looksLikeItem(at offset: Int) -> Bool {
        bytes[offset] == 0xFE && bytes[offset + 1] == 0xFF && bytes[offset + 2] == 0x00 && bytes[offset + 3] == 0xE0
    }

    mutating func readItems(end: Int?, characterSet: SpecificCharacterSet, depth: Int) throws -> [DataSet] {
        guard depth <= Self.maximumDepth else { throw DICOMError.nestingTooDeep(offset: position) }
        var items: [DataSet] = []
        while end.map({ position < $0 }) ?? true {
            let offset = position
            let tag = try readTag()
            let length = try readUInt32()
            if tag == .sequenceDelimitation {
                if end == nil { return items }
                continue
            }
            guard tag == .item else {
                throw DICOMError.invalidElement(tag, offset: offset, reason: "expected an item in a sequence")
            }
            if length == 0xFFFF_FFFF {
                items.append(try readDataSet(until: nil, characterSet: characterSet, depth: depth))
            } else {
                let itemEnd = position + Int(length)
                guard itemEnd <= (end ?? bytes.count) else { throw DICOMError.truncated(offset: position) }
                items.append(try readDataSet(until: itemEnd, characterSet: characterSet, depth: depth))
                position = itemEnd
            }
        }
        return items
    }

    /// Encapsulated pixel data (PS3.5 §A.4): items of bytes until the sequence delimitation,
    /// the first being the basic offset table.
    mutating func readFragments(tag: Tag) throws -> DataElement.Value {
        var items: [[UInt8]] = []
        while true {
            let offset = position
            let itemTag = try readTag()
            let length = try readUInt32()
            if itemTag == .sequenceDelimitation { break }
            guard itemTag == .item, length != 0xFFFF_FFFF else {
                throw DICOMError.invalidElement(tag, offset: offset, reason: "a pixel data fragment is not an item of defined length")
            }
            items.append(try take(Int(length), at: tag))
        }
        guard let offsetTable = items.first else {
            throw DICOMError.invalidElement(tag, offset: position, reason: "encapsulated pixel data without a basic offset table item")
        }
        return .fragments(offsetTable: offsetTable, fragments: Array(items.dropFirst()))
    }

    static func swap(_ bytes: inout [UInt8], width: Int) {
        var index = 0
        while index + width <= bytes.count {
            bytes[index..<(index + width)].reverse()
            index += width
        }
    }
}
