/// De-identification with the Basic Application Level Confidentiality Profile (PS3.15 Annex E,
/// Table E.1-1): identifying attributes are emptied (Z), removed (X) or replaced by a dummy
/// value (D); instance-identifying UIDs are replaced (U) consistently within one export, so
/// that the exported instances still refer to each other; private attributes are removed;
/// the data set records that and how it was de-identified. Burned-in text in the pixels is not
/// touched: the profile's Clean Pixel Data option is not offered.
public struct Anonymizer: Sendable {
    enum Action { case empty, remove, dummy(String), uid }

    /// Gives the 16 bytes a replacement UID is made of, for an original UID: the same bytes
    /// for the same UID within one export (a keyed hash), unlinkable across exports.
    let uidBytes: @Sendable (String) -> [UInt8]

    public init(uidBytes: @escaping @Sendable (String) -> [UInt8]) { self.uidBytes = uidBytes }

    static let actions: [Tag: Action] = {
        var table: [Tag: Action] = [:]
        func set(_ action: Action, _ tags: [(UInt16, UInt16)]) { for (group, element) in tags { table[Tag(group, element)] = action } }
        // Z: kept, but empty (Type 2 attributes a receiver expects to find).
        set(.empty, [
            (0x0008, 0x0020), (0x0008, 0x0030), (0x0008, 0x0050), (0x0008, 0x0090), (0x0010, 0x0010), (0x0010, 0x0020),
            (0x0010, 0x0030), (0x0010, 0x0040), (0x0020, 0x0010), (0x0040, 0x2016), (0x0040, 0x2017), (0x0018, 0x0010),
        ])
        // D: replaced by a dummy value of the same meaning.
        table[Tag(0x0008, 0x0023)] = .dummy("19000101")  // ContentDate
        table[Tag(0x0008, 0x0033)] = .dummy("000000")  // ContentTime
        table[Tag(0x0018, 0x1030)] = .dummy("ANONYMIZED")  // ProtocolName
        table[Tag(0x0040, 0xA123)] = .dummy("ANONYMIZED")  // PersonName (SR)
        table[Tag(0x0070, 0x0084)] = .dummy("ANONYMIZED")  // ContentCreatorName
        // X: removed.
        set(.remove, [
            // patient
            (0x0010, 0x0021), (0x0010, 0x0032), (0x0010, 0x0050), (0x0010, 0x0101), (0x0010, 0x0102), (0x0010, 0x1000), (0x0010, 0x1001),
            (0x0010, 0x1002), (0x0010, 0x1005), (0x0010, 0x1010), (0x0010, 0x1020), (0x0010, 0x1030), (0x0010, 0x1040), (0x0010, 0x1060),
            (0x0010, 0x1080), (0x0010, 0x1081), (0x0010, 0x1090), (0x0010, 0x2000), (0x0010, 0x2110), (0x0010, 0x2150), (0x0010, 0x2152),
            (0x0010, 0x2154), (0x0010, 0x2160), (0x0010, 0x2180), (0x0010, 0x21A0), (0x0010, 0x21B0), (0x0010, 0x21C0), (0x0010, 0x21D0),
            (0x0010, 0x21F0), (0x0010, 0x2203), (0x0010, 0x2297), (0x0010, 0x2299), (0x0010, 0x4000), (0x0038, 0x0010), (0x0038, 0x0011),
            (0x0038, 0x0014), (0x0038, 0x001E), (0x0038, 0x0020), (0x0038, 0x0021), (0x0038, 0x0040), (0x0038, 0x0050), (0x0038, 0x0060),
            (0x0038, 0x0061), (0x0038, 0x0062), (0x0038, 0x0300), (0x0038, 0x0400), (0x0038, 0x0500), (0x0038, 0x4000), (0x0008, 0x1080),
            (0x0008, 0x1084), (0x0008, 0x2111), (0x0032, 0x1032), (0x0032, 0x1033), (0x0032, 0x1060), (0x0032, 0x1070), (0x0032, 0x4000),
            // dates and times beyond the study's own
            (0x0008, 0x0012), (0x0008, 0x0013), (0x0008, 0x0021), (0x0008, 0x0022), (0x0008, 0x0024), (0x0008, 0x0025), (0x0008, 0x002A),
            (0x0008, 0x0031), (0x0008, 0x0032), (0x0008, 0x0034), (0x0008, 0x0035), (0x0018, 0x1200), (0x0018, 0x1201), (0x0018, 0x1012),
            (0x0018, 0x1014), (0x0040, 0x0244), (0x0040, 0x0245), (0x0040, 0x0250), (0x0040, 0x0251), (0x0040, 0x0002), (0x0040, 0x0003),
            (0x0040, 0x0004), (0x0040, 0x0005),
            // people, places and devices
            (0x0008, 0x0080), (0x0008, 0x0081), (0x0008, 0x0082), (0x0008, 0x0092), (0x0008, 0x0094), (0x0008, 0x0096), (0x0008, 0x1010),
            (0x0008, 0x1040), (0x0008, 0x1048), (0x0008, 0x1049), (0x0008, 0x1050), (0x0008, 0x1052), (0x0008, 0x1060), (0x0008, 0x1062),
            (0x0008, 0x1070), (0x0008, 0x1072), (0x0018, 0x1000), (0x0018, 0x1002), (0x0018, 0x1004), (0x0018, 0x1005), (0x0018, 0x1007),
            (0x0018, 0x1008), (0x0018, 0x100A), (0x0018, 0x1400), (0x0018, 0x700A), (0x0032, 0x1020), (0x0032, 0x1021), (0x0032, 0x1030),
            (0x0032, 0x1031), (0x0040, 0x0006), (0x0040, 0x0007), (0x0040, 0x0010), (0x0040, 0x0011), (0x0040, 0x0241), (0x0040, 0x0242),
            (0x0040, 0x0243), (0x0040, 0x0253), (0x0040, 0x0254), (0x0040, 0x0275), (0x0040, 0x0280), (0x0040, 0x1001), (0x0040, 0x1004),
            (0x0040, 0x1005), (0x0040, 0x1010), (0x0040, 0x1011), (0x0040, 0x1102), (0x0040, 0x1103), (0x0040, 0x1400), (0x0040, 0x2001),
            (0x0040, 0x2008), (0x0040, 0x2009), (0x0040, 0x2010), (0x0040, 0x2400), (0x0040, 0x3001), (0x0040, 0xA027), (0x0040, 0xA730),
            (0x4008, 0x0042), (0x4008, 0x0102), (0x4008, 0x010A), (0x4008, 0x010B), (0x4008, 0x010C), (0x4008, 0x0111), (0x4008, 0x0114),
            (0x4008, 0x0118), (0x4008, 0x0119), (0x4008, 0x011A), (0x4008, 0x0202), (0x4008, 0x0300), (0x4008, 0x4000),
            // free text that may name people
            (0x0008, 0x1030), (0x0008, 0x103E), (0x0018, 0x4000), (0x0020, 0x4000), (0x0020, 0x9158), (0x0028, 0x4000),
            (0x0008, 0x4000), (0x0018, 0x9424), (0x0020, 0x3401),
            (0x0020, 0x3406), (0x0400, 0x0561), (0x0012, 0x0010), (0x0012, 0x0020), (0x0012, 0x0021), (0x0012, 0x0030), (0x0012, 0x0031),
            (0x0012, 0x0040), (0x0012, 0x0042), (0x0012, 0x0050), (0x0012, 0x0051), (0x0012, 0x0060), (0x0012, 0x0071), (0x0012, 0x0072),
            (0x0012, 0x0081), (0x0012, 0x0082),
        ])
        // U: replaced, consistently within the export.
        set(.uid, [
            (0x0002, 0x0003), (0x0008, 0x0014), (0x0008, 0x0018), (0x0008, 0x1155), (0x0008, 0x3010), (0x0008, 0x0058), (0x0020, 0x000D),
            (0x0020, 0x000E), (0x0020, 0x0052), (0x0020, 0x0200), (0x0020, 0x9161), (0x0020, 0x9164), (0x0028, 0x1199), (0x0028, 0x1214),
            (0x0040, 0xA124), (0x0040, 0xDB0C), (0x0040, 0xDB0D), (0x0064, 0x0003), (0x0070, 0x031A), (0x0088, 0x0140), (0x3006, 0x0024),
            (0x3006, 0x00C2), (0x0004, 0x1511), (0x0018, 0x2042), (0x0018, 0x9517), (0x0040, 0x4023),
        ])
        return table
    }()

    /// The de-identified copy of `dataSet`.
    public func anonymize(_ dataSet: DataSet) -> DataSet {
        var out = clean(dataSet)
        out.set(.patientIdentityRemoved, .CS, "YES")
        out.set(.deidentificationMethod, .LO, "DICOM PS3.15 Basic Profile")
        var code = DataSet()
        code.set(Tag(0x0008, 0x0100), .SH, "113100")
        code.set(Tag(0x0008, 0x0102), .SH, "DCM")
        code.set(Tag(0x0008, 0x0104), .LO, "Basic Application Confidentiality Profile")
        out.set(.deidentificationMethodCodeSequence, sequence: [code])
        return out
    }

    /// Applies the table to every element, in nested sequences too.
    func clean(_ dataSet: DataSet) -> DataSet {
        var out = DataSet(elements: [], characterSet: dataSet.characterSet)
        for element in dataSet.elements {
            if element.tag.isPrivate { continue }
            switch Self.actions[element.tag] {
            case .remove?:
                continue
            case .empty?:
                out[element.tag] = DataElement(tag: element.tag, vr: element.vr, value: element.vr == .SQ ? .sequence([]) : .bytes([]))
            case .dummy(let value)?:
                out.set(element.tag, element.vr, value)
            case .uid?:
                out.set(element.tag, .UI, dataSet.strings(element.tag).map(replacement))
            case nil:
                if case .sequence(let items) = element.value {
                    out[element.tag] = DataElement(tag: element.tag, vr: .SQ, value: .sequence(items.map(clean)))
                } else {
                    out[element.tag] = element
                }
            }
        }
        return out
    }

    func replacement(_ uid: String) -> String {
        uid.isEmpty ? uid : Self.uuidUID(uidBytes(uid))
    }

    /// A UID under the 2.25 root: 16 bytes laid out as a version 4 UUID, written as one
    /// decimal integer (PS3.5 §B.2).
    public static func uuidUID(_ bytes: [UInt8]) -> String {
        var digits = Array(bytes.prefix(16)).map(UInt32.init)  // base 256, most significant first
        digits += [UInt32](repeating: 0, count: 16 - digits.count)
        digits[6] = (digits[6] & 0x0F) | 0x40
        digits[8] = (digits[8] & 0x3F) | 0x80
        var decimal: [Character] = []
        while digits.contains(where: { $0 != 0 }) {
            var remainder: UInt32 = 0
            for index in digits.indices {
                let value = remainder * 256 + digits[index]
                digits[index] = value / 10
                remainder = value % 10
            }
            decimal.append(Character(String(remainder)))
        }
        return "2.25." + String(decimal.reversed())
    }
}

public extension Tag {
    static let patientIdentityRemoved = Tag(0x0012, 0x0062)
    static let deidentificationMethod = Tag(0x0012, 0x0063)
    static let deidentificationMethodCodeSequence = Tag(0x0012, 0x0064)
}

/// A ZIP archive (PKWARE APPNOTE 6.3) of stored, uncompressed entries: DICOM files compress
/// poorly and must arrive byte for byte.
public struct ZipWriter {
    public private(set) var bytes: [UInt8] = []
    var directory: [UInt8] = []
    var count = 0

    public init() {}

    public mutating func add(name: String, contents: [UInt8]) {
        let nameBytes = Array(name.utf8)
        let crc = Deflate.crc32(contents)
        let offset = UInt32(bytes.count)
        func header(_ into: inout [UInt8], central: Bool) {
            into.appendLE(central ? UInt32(0x0201_4B50) : UInt32(0x0403_4B50))
            if central { into.appendLE(UInt16(20)) }  // made by
            into.appendLE(UInt16(20))  // version needed
            into.appendLE(UInt16(0x0800))  // UTF-8 names
            into.appendLE(UInt16(0))  // stored
            into.appendLE(UInt16(0))  // time
            into.appendLE(UInt16(0x21))  // date 1980-01-01
            into.appendLE(crc)
            into.appendLE(UInt32(contents.count))
            into.appendLE(UInt32(contents.count))
            into.appendLE(UInt16(nameBytes.count))
            into.appendLE(UInt16(0))  // extra
            if central {
                into.appendLE(UInt16(0))  // comment
                into.appendLE(UInt16(0))  // disk
                into.appendLE(UInt16(0))  // internal attributes
                into.appendLE(UInt32(0))  // external attributes
                into.appendLE(offset)
            }
            into.append(contentsOf: nameBytes)
        }
        header(&bytes, central: false)
        bytes.append(contentsOf: contents)
        header(&directory, central: true)
        count += 1
    }

    /// The archive, central directory and end record appended.
    public func finished() -> [UInt8] {
        var out = bytes
        let start = UInt32(out.count)
        out.append(contentsOf: directory)
        out.appendLE(UInt32(0x0605_4B50))
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(0))
        out.appendLE(UInt16(count))
        out.appendLE(UInt16(count))
        out.appendLE(UInt32(directory.count))
        out.appendLE(start)
        out.appendLE(UInt16(0))
        return out
    }
}
