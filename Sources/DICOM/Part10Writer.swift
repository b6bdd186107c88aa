/// Writes data sets (PS3.5 §7) and Part 10 files (PS3.10 §7.1) in the little-endian syntaxes.
/// Sequences and items are written with undefined lengths, which every reader accepts and which
/// needs no second pass.
public struct DataSetWriter {
    public private(set) var bytes: [UInt8] = []
    let explicitVR: Bool

    public init(explicitVR: Bool, reservingCapacity: Int = 0) {
        self.explicitVR = explicitVR
        bytes.reserveCapacity(reservingCapacity)
    }

    mutating func writeUInt16(_ value: UInt16) { bytes.appendLE(value) }
    mutating func writeUInt32(_ value: UInt32) { bytes.appendLE(value) }
    mutating func writeTag(_ tag: Tag) { writeUInt16(tag.group); writeUInt16(tag.element) }

    /// Writes a data set without its group lengths (optional, PS3.5 §7.2) and without file
    /// meta elements: those belong in a Part 10 file's header only (PS3.10 §7.1), where `part10`
    /// writes them, and never in a data set sent over DIMSE (PS3.7 §6.3.1). A file whose data
    /// set carried some was otherwise written with them at the start of its body, where a
    /// reader takes them for the header.
    public mutating func write(_ dataSet: DataSet) {
        for element in dataSet.elements where !element.tag.isGroupLength && element.tag.group != 0x0002 {
            write(element)
        }
    }

    /// Writes the file meta information group (PS3.10 §7.1) but its group length.
    mutating func writeMeta(_ meta: DataSet) {
        for element in meta.elements where !element.tag.isGroupLength && element.tag.group == 0x0002 {
            write(element)
        }
    }

    mutating func writeHeader(_ tag: Tag, _ vr: VR, length: UInt32) {
        writeTag(tag)
        if explicitVR {
            bytes.append(contentsOf: vr.rawValue.utf8)
            if vr.hasLongLength {
                writeUInt16(0)
                writeUInt32(length)
            } else {
                writeUInt16(UInt16(truncatingIfNeeded: length))
            }
        } else {
            writeUInt32(length)
        }
    }

    public mutating func write(_ element: DataElement) {
        switch element.value {
        case .bytes(var value):
            // A value too long for a 16-bit length is written as UN (PS3.5 §6.2.2).
            var vr = element.vr
            if value.count % 2 == 1 { value.append(vr.padding) }
            if explicitVR, !vr.hasLongLength, value.count > 0xFFFF { vr = .UN }
            writeHeader(element.tag, vr, length: UInt32(value.count))
            bytes.append(contentsOf: value)
        case .sequence(let items):
            writeHeader(element.tag, .SQ, length: 0xFFFF_FFFF)
            for item in items {
                writeTag(.item)
                writeUInt32(0xFFFF_FFFF)
                write(item)
                writeTag(.itemDelimitation)
                writeUInt32(0)
            }
            writeTag(.sequenceDelimitation)
            writeUInt32(0)
        case .fragments(let offsetTable, let fragments):
            writeHeader(element.tag, element.vr == .OW ? .OB : element.vr, length: 0xFFFF_FFFF)
            for fragment in [offsetTable] + fragments {
                writeTag(.item)
                var padded = fragment
                if padded.count % 2 == 1 { padded.append(0) }
                writeUInt32(UInt32(padded.count))
                bytes.append(contentsOf: padded)
            }
            writeTag(.sequenceDelimitation)
            writeUInt32(0)
        }
    }
}

extension DICOMFile {
    public static let implementationClassUID = "1.2.826.0.1.3680043.10.1452.1"
    public static let implementationVersionName = "HYGIE_1"

    /// File meta information for a data set (PS3.10 §7.1), group length included.
    public static func makeMeta(for dataSet: DataSet, syntax: TransferSyntax, sourceAE: String? = nil) -> DataSet {
        makeMeta(sopClass: dataSet.string(.sopClassUID) ?? "", sopInstance: dataSet.string(.sopInstanceUID) ?? "", syntax: syntax, sourceAE: sourceAE)
    }

    /// File meta information for an instance known by its UIDs (a data set received over DIMSE).
    public static func makeMeta(sopClass: String, sopInstance: String, syntax: TransferSyntax, sourceAE: String? = nil) -> DataSet {
        var meta = DataSet()
        meta[.fileMetaInformationVersion] = DataElement(tag: .fileMetaInformationVersion, vr: .OB, value: .bytes([0, 1]))
        meta.set(.mediaStorageSOPClassUID, .UI, sopClass)
        meta.set(.mediaStorageSOPInstanceUID, .UI, sopInstance)
        meta.set(.transferSyntaxUID, .UI, syntax.uid)
        meta.set(.implementationClassUID, .UI, implementationClassUID)
        meta.set(.implementationVersionName, .SH, implementationVersionName)
        if let sourceAE { meta.set(.sourceApplicationEntityTitle, .AE, sourceAE) }
        return meta
    }

    /// The bytes of a Part 10 file: preamble, "DICM", meta group with its length, data set.
    /// Big endian is read but never written; such data sets are written explicit little endian.
    public func serialized() -> [UInt8] {
        var syntax = transferSyntax
        if syntax.isBigEndian { syntax = .explicitVRLittleEndian }
        var body = DataSetWriter(explicitVR: syntax.isExplicitVR)
        body.write(dataSet)
        return Self.part10(meta: meta, syntax: syntax, body: syntax.isDeflated ? Deflate.deflate(body.bytes, raw: true) : body.bytes)
    }

    /// Wraps an already-encoded data set (as received over DIMSE) into a Part 10 file.
    public static func part10(meta: DataSet, syntax: TransferSyntax, body: [UInt8]) -> [UInt8] {
        var meta = meta
        meta.set(.transferSyntaxUID, .UI, syntax.uid)
        var metaWriter = DataSetWriter(explicitVR: true)
        metaWriter.writeMeta(meta)
        var output = [UInt8](repeating: 0, count: 128)
        output.reserveCapacity(144 + metaWriter.bytes.count + body.count)
        output.append(contentsOf: Array("DICM".utf8))
        var lengthWriter = DataSetWriter(explicitVR: true)
        lengthWriter.write(DataElement(tag: .fileMetaInformationGroupLength, vr: .UL, value: .bytes(UInt32(metaWriter.bytes.count).littleEndianBytes)))
        output.append(contentsOf: lengthWriter.bytes)
        output.append(contentsOf: metaWriter.bytes)
        output.append(contentsOf: body)
        return output
    }
}

extension UInt32 {
    var littleEndianBytes: [UInt8] { [UInt8(self & 0xFF), UInt8(self >> 8 & 0xFF), UInt8(self >> 16 & 0xFF), UInt8(self >> 24)] }
}
