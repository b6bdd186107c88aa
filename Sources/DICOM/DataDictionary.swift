/// The registry of standard data elements (PS3.6 §6): VR, VM and keyword per tag, for reading
/// implicit VR data sets and for naming attributes in queries (`includefield=PatientName`).
public enum DataDictionary {
    public struct Entry: Sendable {
        public let tag: Tag
        public let vr: VR
        public let multiplicity: String
        public let keyword: String
        public let retired: Bool
    }

    private struct Index: Sendable {
        var byTag: [Tag: Entry] = [:]
        var byKeyword: [String: Tag] = [:]
        /// Repeating groups: (mask of the fixed digits, value of the fixed digits, entry).
        var repeating: [(mask: UInt32, value: UInt32, entry: Entry)] = []
    }

    private static let index: Index = {
        var index = Index()
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 4 else { continue }
            let vr = VR(rawValue: String(fields[1])) ?? .UN
            let retired = fields.count > 4 && fields[4] == "R"
            let tagText = fields[0]
            if tagText.contains("x") {
                let mask = UInt32(String(tagText.map { $0 == "x" ? "0" : "F" }), radix: 16) ?? 0
                let value = UInt32(tagText.replacingX(), radix: 16) ?? 0
                let entry = Entry(tag: Tag(value), vr: vr, multiplicity: String(fields[2]), keyword: String(fields[3]), retired: retired)
                index.repeating.append((mask, value, entry))
                if index.byKeyword[entry.keyword] == nil { index.byKeyword[entry.keyword] = entry.tag }
            } else if let value = UInt32(tagText, radix: 16) {
                let entry = Entry(tag: Tag(value), vr: vr, multiplicity: String(fields[2]), keyword: String(fields[3]), retired: retired)
                index.byTag[entry.tag] = entry
                index.byKeyword[entry.keyword] = entry.tag
            }
        }
        return index
    }()

    public static func entry(for tag: Tag) -> Entry? {
        if let entry = index.byTag[tag] { return entry }
        return index.repeating.first { tag.value & $0.mask == $0.value }?.entry
    }

    public static func tag(forKeyword keyword: String) -> Tag? { index.byKeyword[keyword] }

    /// The VR to assume for an element read without one (implicit VR, PS3.5 §7.1.3).
    public static func impliedVR(for tag: Tag) -> VR {
        if tag.isGroupLength { return .UL }
        if tag.isPrivate && (0x0010...0x00FF).contains(tag.element) { return .LO }
        if tag == .pixelData { return .OW }
        return entry(for: tag)?.vr ?? .UN
    }
}

private extension Substring {
    func replacingX() -> String { String(map { $0 == "x" ? "0" : $0 }) }
}
