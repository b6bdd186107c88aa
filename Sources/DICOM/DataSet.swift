/// One data element (PS3.5 §7.1). Binary values are kept little endian whatever the transfer
/// syntax they were read from; string values keep their encoded bytes, decoded on demand with
/// the data set's character set.
public struct DataElement: Sendable {
    public enum Value: Sendable {
        case bytes([UInt8])
        case sequence([DataSet])
        /// Encapsulated pixel data (PS3.5 §A.4): the basic offset table, then each fragment.
        case fragments(offsetTable: [UInt8], fragments: [[UInt8]])
    }

    public var tag: Tag
    public var vr: VR
    public var value: Value

    public init(tag: Tag, vr: VR, value: Value) {
        self.tag = tag
        self.vr = vr
        self.value = value
    }

    public var bytes: [UInt8] {
        if case .bytes(let bytes) = value { return bytes }
        return []
    }

    public var items: [DataSet] {
        if case .sequence(let items) = value { return items }
        return []
    }
}

/// An ordered set of data elements (PS3.5 §7): kept sorted by tag, with the character set
/// that decodes its text.
public struct DataSet: Sendable {
    public private(set) var elements: [DataElement] = []
    public var characterSet: SpecificCharacterSet = .default

    public init() {}

    public init(elements: [DataElement], characterSet: SpecificCharacterSet = .default) {
        self.elements = elements.sorted { $0.tag < $1.tag }
        self.characterSet = characterSet
    }

    /// Appends an element read in file order; falls back to a sorted insert when a file lists
    /// its elements out of order.
    mutating func appendRead(_ element: DataElement) {
        if let last = elements.last, last.tag >= element.tag {
            self[element.tag] = element
        } else {
            elements.append(element)
        }
    }

    private func index(of tag: Tag) -> (found: Bool, index: Int) {
        var low = 0
        var high = elements.count
        while low < high {
            let middle = (low + high) / 2
            let value = elements[middle].tag
            if value == tag { return (true, middle) }
            if value < tag { low = middle + 1 } else { high = middle }
        }
        return (false, low)
    }

    public subscript(tag: Tag) -> DataElement? {
        get {
            let position = index(of: tag)
            return position.found ? elements[position.index] : nil
        }
        set {
            let position = index(of: tag)
            switch (position.found, newValue) {
            case (true, .some(let element)): elements[position.index] = element
            case (true, .none): elements.remove(at: position.index)
            case (false, .some(let element)): elements.insert(element, at: position.index)
            case (false, .none): break
            }
            if tag == .specificCharacterSet {
                characterSet = SpecificCharacterSet(terms: newValue.map { DataSet.asciiValues($0.bytes) } ?? [])
            }
        }
    }

    public func contains(_ tag: Tag) -> Bool { index(of: tag).found }
    public var isEmpty: Bool { elements.isEmpty }

    /// Removes every element whose tag satisfies `predicate`.
    public mutating func removeAll(where predicate: (Tag) -> Bool) {
        elements.removeAll { predicate($0.tag) }
    }

    // MARK: Reading values

    /// Every value of a string element, decoded and trimmed of padding (PS3.5 §6.2).
    public func strings(_ tag: Tag) -> [String] {
        guard let element = self[tag], case .bytes(let bytes) = element.value, !bytes.isEmpty, element.vr.isString else { return [] }
        let text = element.vr.usesCharacterSet ? characterSet.decode(bytes, vr: element.vr) : String(decoding: bytes, as: UTF8.self)
        // Split on the byte: the backslash is a single byte in every character set DICOM
        // allows, and splitting on characters walks grapheme clusters.
        let values = element.vr.isSingleValuedText
            ? [Substring(text)] : text.utf8.split(separator: UInt8(ascii: "\\"), omittingEmptySubsequences: false).map(Substring.init)
        let leading = !element.vr.isSingleValuedText
        return values.map { Self.trimmedPadding($0, leading: leading) }
    }

    /// A value without its trailing spaces and NULs (padding), and its leading spaces when
    /// `leading` (PS3.5 §6.2: leading spaces are significant only in the text VRs). Spaces and
    /// NUL are single UTF-8 bytes, so the bounds are found on the bytes, not on characters.
    static func trimmedPadding(_ value: Substring, leading: Bool) -> String {
        let bytes = value.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        while end > start {
            let last = bytes.index(before: end)
            guard bytes[last] == UInt8(ascii: " ") || bytes[last] == 0 else { break }
            end = last
        }
        while leading, start < end, bytes[start] == UInt8(ascii: " ") { start = bytes.index(after: start) }
        return String(value[start..<end])
    }

    /// The first value of a string element, or nil when absent or empty.
    public func string(_ tag: Tag) -> String? {
        guard let first = strings(tag).first, !first.isEmpty else { return nil }
        return first
    }

    /// Numeric values of a binary integer element (US, SS, UL, SL, SV, UV) or of IS/DS text.
    public func integers(_ tag: Tag) -> [Int] {
        guard let element = self[tag] else { return [] }
        let bytes = element.bytes
        switch element.vr {
        case .US, .OW: return stride(from: 0, to: bytes.count - 1, by: 2).map { Int(UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8) }
        case .SS: return stride(from: 0, to: bytes.count - 1, by: 2).map { Int(Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8)) }
        case .UL: return stride(from: 0, to: bytes.count - 3, by: 4).map { Int(bytes.loadLE(UInt32.self, at: $0)) }
        case .SL: return stride(from: 0, to: bytes.count - 3, by: 4).map { Int(Int32(bitPattern: bytes.loadLE(UInt32.self, at: $0))) }
        case .SV: return stride(from: 0, to: bytes.count - 7, by: 8).map { Int(Int64(bitPattern: bytes.loadLE(UInt64.self, at: $0))) }
        case .UV: return stride(from: 0, to: bytes.count - 7, by: 8).map { Int(truncatingIfNeeded: bytes.loadLE(UInt64.self, at: $0)) }
        case .IS, .DS: return strings(tag).compactMap { Double($0).map { Int($0) } }
        default: return []
        }
    }

    public func integer(_ tag: Tag) -> Int? { integers(tag).first }

    /// Numeric values of DS/IS text or of FL/FD binary values.
    public func doubles(_ tag: Tag) -> [Double] {
        guard let element = self[tag] else { return [] }
        let bytes = element.bytes
        switch element.vr {
        case .FL, .OF: return stride(from: 0, to: bytes.count - 3, by: 4).map { Double(Float(bitPattern: bytes.loadLE(UInt32.self, at: $0))) }
        case .FD, .OD: return stride(from: 0, to: bytes.count - 7, by: 8).map { Double(bitPattern: bytes.loadLE(UInt64.self, at: $0)) }
        case .DS, .IS: return strings(tag).compactMap { Double($0) }
        default: return integers(tag).map(Double.init)
        }
    }

    public func double(_ tag: Tag) -> Double? { doubles(tag).first }

    public func sequence(_ tag: Tag) -> [DataSet] { self[tag]?.items ?? [] }

    // MARK: Writing values

    /// Sets a string element, encoding it with the data set's character set and padding it to
    /// an even length.
    public mutating func set(_ tag: Tag, _ vr: VR, _ values: [String]) {
        let text = values.joined(separator: "\\")
        var bytes = vr.usesCharacterSet ? characterSet.encode(text) : Array(text.utf8)
        if bytes.count % 2 == 1 { bytes.append(vr.padding) }
        self[tag] = DataElement(tag: tag, vr: vr, value: .bytes(bytes))
    }

    public mutating func set(_ tag: Tag, _ vr: VR, _ value: String) { set(tag, vr, [value]) }

    public mutating func set(_ tag: Tag, _ vr: VR, integers: [Int]) {
        var bytes: [UInt8] = []
        for value in integers {
            switch vr {
            case .US, .SS: bytes.appendLE(UInt16(truncatingIfNeeded: value))
            case .UL, .SL: bytes.appendLE(UInt32(truncatingIfNeeded: value))
            case .SV, .UV: bytes.appendLE(UInt64(truncatingIfNeeded: value))
            default: return set(tag, vr, integers.map(String.init))
            }
        }
        self[tag] = DataElement(tag: tag, vr: vr, value: .bytes(bytes))
    }

    public mutating func set(_ tag: Tag, sequence items: [DataSet]) {
        self[tag] = DataElement(tag: tag, vr: .SQ, value: .sequence(items))
    }

    static func asciiValues(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: UInt8(ascii: "\\"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: " \0")
        }
    }
}

extension StringProtocol {
    func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        let start = firstIndex { !set.contains($0) } ?? endIndex
        let end = lastIndex { !set.contains($0) }.map { index(after: $0) } ?? start
        return start < end ? String(self[start..<end]) : ""
    }

}

extension Array where Element == UInt8 {
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value |= T(self[offset + index]) << (8 * index) }
        return value
    }

    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
