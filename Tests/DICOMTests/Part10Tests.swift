import Foundation
import Testing

@testable import DICOM

/// A small CT-like data set with a nested sequence, text in UTF-8 and 16-bit pixels.
func sampleDataSet() -> DataSet {
    var dataSet = DataSet()
    dataSet.set(.specificCharacterSet, .CS, "ISO_IR 192")
    dataSet.set(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2")
    dataSet.set(.sopInstanceUID, .UI, "1.2.3.4.5.6")
    dataSet.set(.studyInstanceUID, .UI, "1.2.3.4")
    dataSet.set(.seriesInstanceUID, .UI, "1.2.3.4.5")
    dataSet.set(.patientName, .PN, "Müller^Zoé")
    dataSet.set(.rows, .US, integers: [2])
    dataSet.set(.columns, .US, integers: [2])
    dataSet.set(.bitsAllocated, .US, integers: [16])
    dataSet.set(.bitsStored, .US, integers: [12])
    dataSet.set(.samplesPerPixel, .US, integers: [1])
    dataSet.set(.photometricInterpretation, .CS, "MONOCHROME2")
    var item = DataSet()
    item.set(.referencedSOPInstanceUID, .UI, "1.2.3.9")
    dataSet.set(.referencedSOPSequence, sequence: [item, item])
    dataSet[.pixelData] = DataElement(tag: .pixelData, vr: .OW, value: .bytes([0, 0, 0xFF, 0x0F, 0x00, 0x08, 0x10, 0x00]))
    return dataSet
}

@Test(arguments: [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian, .deflatedExplicitVRLittleEndian])
func aWrittenFileReadsBackWithTheSameValues(syntax: TransferSyntax) throws {
    let original = sampleDataSet()
    let file = DICOMFile(meta: DICOMFile.makeMeta(for: original, syntax: syntax), dataSet: original, transferSyntax: syntax)
    let read = try DICOMFile.read(file.serialized())
    #expect(read.transferSyntax == syntax)
    #expect(read.dataSet.string(.patientName) == "Müller^Zoé")
    #expect(read.dataSet.integer(.rows) == 2)
    #expect(read.dataSet.sequence(.referencedSOPSequence).count == 2)
    #expect(read.dataSet.sequence(.referencedSOPSequence)[1].string(.referencedSOPInstanceUID) == "1.2.3.9")
    #expect(read.dataSet[.pixelData]?.bytes == original[.pixelData]?.bytes)
}

/// The buffer zlib inflates into is bounded whatever the input's size, and a stream larger
/// than it inflates whole.
@Test func inflatingUsesABoundedBufferAndGoesOnPastIt() throws {
    #expect(Deflate.bufferSize(forInputOf: 512 << 20) == 4 << 20)
    #expect(Deflate.bufferSize(forInputOf: 100) == 65536)
    let large = (0..<(Deflate.chunkLimit * 2 + 12_345)).map { UInt8(truncatingIfNeeded: $0 / 1000) }
    #expect(try Deflate.inflate(Deflate.deflate(large, raw: true), raw: true) == large)
    #expect(try Deflate.inflate(Deflate.deflate(large, raw: false), raw: false) == large)
}

/// File meta elements found in a data set's body (a bare data set that lists them, a writer
/// that put them there) are not written into the body again: a reader would take them for the
/// file's header, and the implicit VR body that follows them for truncated (found by Fuzz/run).
@Test(arguments: [TransferSyntax.implicitVRLittleEndian, .explicitVRLittleEndian])
func fileMetaElementsInADataSetAreNotWrittenIntoItsBody(syntax: TransferSyntax) throws {
    var dataSet = sampleDataSet()
    dataSet.set(.transferSyntaxUID, .UI, TransferSyntax.explicitVRBigEndian.uid)
    dataSet.set(.mediaStorageSOPInstanceUID, .UI, "9.9.9")
    let file = DICOMFile(meta: DICOMFile.makeMeta(for: dataSet, syntax: syntax), dataSet: dataSet, transferSyntax: syntax)
    let read = try DICOMFile.read(file.serialized())
    #expect(read.transferSyntax == syntax)
    #expect(read.meta.string(.mediaStorageSOPInstanceUID) == "1.2.3.4.5.6")
    #expect(read.dataSet.string(.patientName) == "Müller^Zoé")
    #expect(!read.dataSet.elements.contains { $0.tag.group == 0x0002 })
    var writer = DataSetWriter(explicitVR: false)
    writer.write(dataSet)
    #expect(try DICOMFile.readDataSet(writer.bytes, syntax: .implicitVRLittleEndian)[.transferSyntaxUID] == nil)
}

@Test func aTruncatedFileIsRejectedWithAReason() throws {
    let original = sampleDataSet()
    let bytes = DICOMFile(meta: DICOMFile.makeMeta(for: original, syntax: .explicitVRLittleEndian), dataSet: original,
                          transferSyntax: .explicitVRLittleEndian).serialized()
    #expect(throws: DICOMError.self) { try DICOMFile.read(Array(bytes.prefix(bytes.count - 3))) }
    #expect(throws: DICOMError.self) { try DICOMFile.read(Array("hello, this is not DICOM at all".utf8)) }
}

/// The parser's fuzz target: random corruptions of a valid file (fixed seed) must end in a
/// result or a `DICOMError`, never a crash.
@Test func corruptedFilesNeverCrashTheParser() throws {
    let original = sampleDataSet()
    let bytes = DICOMFile(meta: DICOMFile.makeMeta(for: original, syntax: .explicitVRLittleEndian), dataSet: original,
                          transferSyntax: .explicitVRLittleEndian).serialized()
    var generator = SplitMix(seed: 20261121)
    var rejected = 0
    for _ in 0..<3000 {
        var mutated = bytes
        for _ in 0..<(1 + Int(generator.next() % 4)) {
            let position = 128 + Int(generator.next() % UInt64(mutated.count - 128))
            mutated[position] = UInt8(truncatingIfNeeded: generator.next())
        }
        if generator.next() % 5 == 0 { mutated = Array(mutated.prefix(128 + Int(generator.next() % UInt64(mutated.count - 128)))) }
        do {
            let file = try DICOMFile.read(mutated)
            _ = DICOMJSON.encode(file.dataSet)
            _ = try? Renderer.render(file.dataSet, syntax: file.transferSyntax, frame: 0)
        } catch is DICOMError {
            rejected += 1
        }
    }
    #expect(rejected > 0)
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Test func iso2022TextSwitchesCharacterSetsOnEscapes() {
    // PS3.5 Annex H example: Yamada^Tarou=山田^太郎=やまだ^たろう in ISO 2022 IR 87.
    let bytes: [UInt8] = Array("Yamada^Tarou=".utf8) + [0x1B, 0x24, 0x42, 0x3B, 0x33, 0x45, 0x44, 0x1B, 0x28, 0x42, 0x5E, 0x1B, 0x24, 0x42, 0x42, 0x40, 0x4F, 0x3A, 0x1B, 0x28, 0x42]
    let set = SpecificCharacterSet(terms: ["", "ISO 2022 IR 87"])
    #expect(set.decode(bytes, vr: .PN) == "Yamada^Tarou=山田^太郎")
    #expect(SpecificCharacterSet(terms: ["ISO_IR 100"]).decode([0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72], vr: .PN) == "Müller")
    #expect(SpecificCharacterSet(terms: ["ISO_IR 144"]).decode([0xBB, 0xEE, 0xDA, 0xE1], vr: .PN) == "Люкс")
}

@Test func dicomJSONGivesNumbersNamesAndBulkData() throws {
    let json = DICOMJSON.encode(sampleDataSet(), bulkData: { path, _ in "https://x/bulk/\(path[0].hex)" })
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
    let name = ((object["00100010"] as? [String: Any])?["Value"] as? [[String: String]])?.first
    #expect(name?["Alphabetic"] == "Müller^Zoé")
    #expect(((object["00280010"] as? [String: Any])?["Value"] as? [Int]) == [2])
    #expect(((object["7FE00010"] as? [String: Any])?["BulkDataURI"] as? String) == "https://x/bulk/7FE00010")
    let back = try DICOMJSON.decode(Data(DICOMJSON.encode(sampleDataSet())))
    #expect(back.string(.patientName) == "Müller^Zoé")
    #expect(back.sequence(.referencedSOPSequence).count == 2)
}

@Test func asciiValuesAreSplitTrimmedAndEscapedAsDecodedOnesAre() throws {
    func element(_ group: UInt16, _ number: UInt16, _ vr: VR, _ text: String) -> DataElement {
        DataElement(tag: Tag(group, number), vr: vr, value: .bytes(Array(text.utf8)))
    }
    let dataSet = DataSet(elements: [
        element(0x0008, 0x0008, .CS, "ORIGINAL\\ PRIMARY \\AXIAL "),
        element(0x0008, 0x1030, .LO, "A\\\\B\0"),
        element(0x0010, 0x0010, .PN, "Doe^John==Phon\\\\=Ideo "),
        element(0x0018, 0x0050, .DS, " 1.50\\-2 \\.5"),
        element(0x0020, 0x0013, .IS, "007 "),
        element(0x0020, 0x4000, .LT, "  a \\ \"b\"\t "),
    ])
    let json = String(decoding: DICOMJSON.encode(dataSet), as: UTF8.self)
    #expect(json == #"{"00080008":{"vr":"CS","Value":["ORIGINAL","PRIMARY","AXIAL"]},"#
        + #""00081030":{"vr":"LO","Value":["A",null,"B"]},"#
        + #""00100010":{"vr":"PN","Value":[{"Alphabetic":"Doe^John","Phonetic":"Phon"},null,{"Ideographic":"Ideo"}]},"#
        + #""00180050":{"vr":"DS","Value":[1.50,-2,0.5]},"00200013":{"vr":"IS","Value":[7]},"#
        + #""00204000":{"vr":"LT","Value":["  a \\ \"b\"\t"]}}"#)
}

@Test func grayscaleRenderingAppliesTheWindow() throws {
    let image = try Renderer.render(sampleDataSet(), syntax: .explicitVRLittleEndian, frame: 0, options: .init(window: (2048, 4096)))
    #expect(image.width == 2 && image.channels == 1)
    #expect(image.pixels[0] == 0)
    #expect(image.pixels[1] == 255)
    let png = PNG.encode(image)
    #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
}

@Test func rleSegmentsDecodeToNativePixels() throws {
    // 2×1 pixels of 16 bits: high-byte segment then low-byte segment, PackBits literal runs.
    var frame = [UInt8](repeating: 0, count: 64)
    frame[0] = 2
    frame[4] = 64
    frame[8] = 67
    frame += [1, 0x01, 0x02] + [1, 0x34, 0x56]
    var module = sampleDataSet()
    module.set(.rows, .US, integers: [1])
    let decoded = try RLE.decode(frame, module: try PixelModule(module))
    #expect(decoded == [0x34, 0x01, 0x56, 0x02])
}

@Test func jpegEncodingFollowsTheQualityAsked() throws {
    var pixels: [UInt8] = []
    for y in 0..<64 { for x in 0..<64 { pixels.append(UInt8((x * 4 + y * 3) & 0xFF)) } }
    let image = RenderedImage(width: 64, height: 64, channels: 1, pixels: pixels)
    let fine = try JPEG.encode(image, quality: 95)
    let coarse = try JPEG.encode(image, quality: 10)
    #expect(Array(fine.prefix(2)) == [0xFF, 0xD8] && Array(fine.suffix(2)) == [0xFF, 0xD9])
    #expect(coarse.count < fine.count)
    #expect(throws: DICOMError.self) { try JPEG.encode(RenderedImage(width: 4, height: 4, channels: 2, pixels: []), quality: 50) }
}

@Test func anonymizationFollowsTheBasicProfile() throws {
    var dataSet = sampleDataSet()
    dataSet.set(.patientName, .PN, "Durand^Léa")
    dataSet.set(.patientID, .LO, "12345")
    dataSet.set(.patientAddress, .LO, "1 rue de la Paix")
    dataSet.set(.institutionName, .LO, "CHU")
    dataSet.set(.studyInstanceUID, .UI, "1.2.3.4")
    dataSet.set(.sopInstanceUID, .UI, "1.2.3.4.5")
    dataSet.set(Tag(0x0009, 0x0010), .LO, "PRIVATE CREATOR")
    var reference = DataSet()
    reference.set(.referencedSOPInstanceUID, .UI, "1.2.3.4.5")
    dataSet.set(.referencedSOPSequence, sequence: [reference])
    let anonymizer = Anonymizer(uidBytes: { uid in Array(uid.utf8.reversed()) + [UInt8](repeating: 7, count: 16) })
    let cleaned = anonymizer.anonymize(dataSet)
    #expect(cleaned.string(.patientName) == nil && cleaned.contains(.patientName))
    #expect(!cleaned.contains(.patientAddress) && !cleaned.contains(.institutionName) && !cleaned.contains(Tag(0x0009, 0x0010)))
    let newSOP = try #require(cleaned.string(.sopInstanceUID))
    #expect(newSOP.hasPrefix("2.25.") && newSOP != "1.2.3.4.5" && newSOP.count <= 64)
    #expect(cleaned.sequence(.referencedSOPSequence).first?.string(.referencedSOPInstanceUID) == newSOP)
    #expect(cleaned.string(.patientIdentityRemoved) == "YES")
    #expect(cleaned[.pixelData]?.bytes == dataSet[.pixelData]?.bytes)
}

@Test func uuidUIDsAreDecimalIntegersOfTheBytes() {
    // Zero bytes with the version 4 and variant bits set: 0x40 << 72 + 0x80 << 56.
    #expect(Anonymizer.uuidUID([UInt8](repeating: 0, count: 16)) == "2.25.302240678275694148452352")
}

@Test func paddingIsTrimmedFromValuesButLeadingSpacesOnlyOutsideText() {
    var dataSet = DataSet()
    dataSet.set(.specificCharacterSet, .CS, "ISO_IR 192")
    dataSet[.studyDescription] = DataElement(tag: .studyDescription, vr: .LO, value: .bytes(Array("  Thorax \\ Crâne \0".utf8)))
    dataSet[.patientName] = DataElement(tag: .patientName, vr: .PN, value: .bytes(Array("Zoé^Léa ".utf8)))
    let comments = Tag(0x0020, 0x4000)  // Image Comments, LT: leading spaces are part of the text
    dataSet[comments] = DataElement(tag: comments, vr: .LT, value: .bytes(Array("  indented \\ kept  \0".utf8)))
    #expect(dataSet.strings(.studyDescription) == ["Thorax", "Crâne"])
    #expect(dataSet.string(.patientName) == "Zoé^Léa")
    #expect(dataSet.strings(comments) == ["  indented \\ kept"])
    dataSet[.studyDescription] = DataElement(tag: .studyDescription, vr: .LO, value: .bytes(Array("   ".utf8)))
    #expect(dataSet.string(.studyDescription) == nil)
}

/// Standard attributes some writers send as UN are read with their dictionary VR (PS3.5
/// §6.2.2), sequences included, so that the index sees a Modality or a PatientName.
@Test(arguments: [TransferSyntax.explicitVRLittleEndian, .explicitVRBigEndian])
func standardAttributesSentAsUNAreReadWithTheirOwnVR(syntax: TransferSyntax) throws {
    var dataSet = sampleDataSet()
    dataSet[.modality] = DataElement(tag: .modality, vr: .UN, value: .bytes(Array("CT".utf8)))
    dataSet[.patientName] = DataElement(tag: .patientName, vr: .UN, value: .bytes(Array("Doe^Jo".utf8)))
    dataSet[.instanceNumber] = DataElement(tag: .instanceNumber, vr: .UN, value: .bytes(Array("7 ".utf8)))
    // An item holding ReferencedSOPInstanceUID "1.2.3.9", in implicit VR little endian.
    let content: [UInt8] = [0x08, 0x00, 0x55, 0x11, 8, 0, 0, 0] + Array("1.2.3.9".utf8) + [0]
    let item: [UInt8] = [0xFE, 0xFF, 0x00, 0xE0, UInt8(content.count), 0, 0, 0] + content
    dataSet[.referencedSOPSequence] = DataElement(tag: .referencedSOPSequence, vr: .UN, value: .bytes(item))
    dataSet[Tag(0x0009, 0x1001)] = DataElement(tag: Tag(0x0009, 0x1001), vr: .UN, value: .bytes([1, 2, 3, 4]))
    let file = DICOMFile(meta: DICOMFile.makeMeta(for: dataSet, syntax: syntax), dataSet: dataSet, transferSyntax: syntax)
    let read = try DICOMFile.read(file.serialized()).dataSet
    #expect(read[.modality]?.vr == .CS)
    #expect(read.string(.modality) == "CT")
    #expect(read.string(.patientName) == "Doe^Jo")
    #expect(read.integer(.instanceNumber) == 7)
    #expect(read.sequence(.referencedSOPSequence).map { $0.string(.referencedSOPInstanceUID) } == ["1.2.3.9"])
    #expect(read[Tag(0x0009, 0x1001)]?.vr == .UN, "a private attribute stays as it came")
}
