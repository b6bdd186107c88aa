import Foundation

extension DICOMJSON {
    /// Reads a data set from the DICOM JSON model (PS3.18 §F.2). Text is stored as UTF-8 and the
    /// data set declares ISO_IR 192. BulkDataURI values cannot be resolved here and are refused.
    /// With `skippingBulkData`, attributes given by BulkDataURI are left out instead of refused.
    public static func decode(_ data: Data, skippingBulkData: Bool = false) throws -> DataSet {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DICOMError.invalidElement(Tag(0, 0), offset: 0, reason: "the DICOM JSON document is not an object")
        }
        return try decodeObject(object, skippingBulkData: skippingBulkData)
    }

    public static func decodeArray(_ data: Data) throws -> [DataSet] {
        guard let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw DICOMError.invalidElement(Tag(0, 0), offset: 0, reason: "the DICOM JSON document is not an array of objects")
        }
        return try array.map { try decodeObject($0) }
    }

    static func decodeObject(_ object: [String: Any], skippingBulkData: Bool = false) throws -> DataSet {
        var dataSet = DataSet()
        dataSet.characterSet = .utf8
        for (key, raw) in object {
            guard let tag = Tag(hex: key), key.count == 8 else {
                throw DICOMError.invalidElement(Tag(0, 0), offset: 0, reason: "\"\(key)\" is not an eight-digit tag")
            }
            guard let attribute = raw as? [String: Any], let vrText = attribute["vr"] as? String, let vr = VR(rawValue: vrText) else {
                throw DICOMError.invalidElement(tag, offset: 0, reason: "the attribute has no valid \"vr\"")
            }
            func invalid(_ reason: String) -> DICOMError { DICOMError.invalidElement(tag, offset: 0, reason: reason) }
            if let inline = attribute["InlineBinary"] as? String {
                guard let bytes = Data(base64Encoded: inline) else { throw invalid("InlineBinary is not base64") }
                dataSet[tag] = DataElement(tag: tag, vr: vr, value: .bytes(Array(bytes)))
                continue
            }
            if attribute["BulkDataURI"] != nil {
                if skippingBulkData { continue }
                throw invalid("a BulkDataURI cannot be resolved in this request")
            }
            let values = attribute["Value"] as? [Any] ?? []
            switch vr {
            case .SQ:
                let items = try values.map { item -> DataSet in
                    guard let object = item as? [String: Any] else { throw invalid("a sequence item is not an object") }
                    return try decodeObject(object, skippingBulkData: skippingBulkData)
                }
                dataSet.set(tag, sequence: items)
            case .PN:
                let names = try values.map { value -> String in
                    if value is NSNull { return "" }
                    guard let groups = value as? [String: Any] else { throw invalid("a person name is not an object") }
                    var parts = ["Alphabetic", "Ideographic", "Phonetic"].map { groups[$0] as? String ?? "" }
                    while parts.last == "" { parts.removeLast() }
                    return parts.joined(separator: "=")
                }
                dataSet.set(tag, .PN, names)
            case .US, .SS, .UL, .SL, .SV, .UV:
                let numbers = try values.map { value -> Int in
                    guard let number = value as? NSNumber else { throw invalid("a value is not a number") }
                    return number.intValue
                }
                dataSet.set(tag, vr, integers: numbers)
            case .FL, .FD:
                var bytes: [UInt8] = []
                for value in values {
                    // JSON has no NaN nor infinity: the writer gives null for them (`jsonDouble`),
                    // read back as NaN so that one such value in an instance (private tags carry
                    // them) does not make its whole metadata unreadable.
                    let double: Double
                    if value is NSNull {
                        double = .nan
                    } else if let number = value as? NSNumber {
                        double = number.doubleValue
                    } else {
                        throw invalid("a value is not a number")
                    }
                    if vr == .FL { bytes.appendLE(Float(double).bitPattern) } else { bytes.appendLE(double.bitPattern) }
                }
                dataSet[tag] = DataElement(tag: tag, vr: vr, value: .bytes(bytes))
            case .AT:
                var bytes: [UInt8] = []
                for value in values {
                    guard let text = value as? String, let referenced = Tag(hex: text) else { throw invalid("an AT value is not a tag") }
                    bytes.appendLE(referenced.group)
                    bytes.appendLE(referenced.element)
                }
                dataSet[tag] = DataElement(tag: tag, vr: .AT, value: .bytes(bytes))
            case .IS, .DS:
                let texts = try values.map { value -> String in
                    if value is NSNull { return "" }
                    if let text = value as? String { return text }
                    guard let number = value as? NSNumber else { throw invalid("a value is not a number") }
                    return vr == .IS ? String(number.intValue) : jsonDouble(number.doubleValue)
                }
                dataSet.set(tag, vr, texts)
            default:
                if vr.isBulkBinary { dataSet[tag] = DataElement(tag: tag, vr: vr, value: .bytes([])); continue }
                let texts = try values.map { value -> String in
                    if value is NSNull { return "" }
                    guard let text = value as? String else { throw invalid("a value is not a string") }
                    return text
                }
                dataSet.set(tag, vr, texts)
            }
        }
        dataSet.set(.specificCharacterSet, .CS, "ISO_IR 192")
        return dataSet
    }
}
