import Core
import DICOM
import Foundation
import SQLKit
import Storage

/// The level a QIDO-RS search returns (PS3.18 §10.6.1).
public enum QueryLevel: String, Sendable {
    case study = "STUDY", series = "SERIES", instance = "IMAGE"
}

/// A QIDO-RS search (PS3.18 §10.6): the level, the study/series the path scopes it to, the
/// attribute matches, the attributes to include, and paging.
public struct QIDOQuery: Sendable {
    public var level: QueryLevel
    public var study: String?
    public var series: String?
    /// The Hygie Patient the studies are filed under (the application API's filter; not a
    /// DICOM attribute).
    public var patient: String?
    public var matches: [(tag: Tag, value: String)] = []
    public var include: Set<Tag> = []
    public var includeAll = false
    public var fuzzy = false
    public var limit: Int?
    public var offset = 0

    public static let maximumLimit = 1000

    /// Reads the query parameters (already percent-decoded): attributes by keyword or tag,
    /// `includefield`, `fuzzymatching`, `limit`, `offset`. Unknown names are refused (400).
    public init(level: QueryLevel, study: String? = nil, series: String? = nil, parameters: [(String, String)]) throws {
        self.level = level
        self.study = study
        self.series = series
        for (name, value) in parameters {
            switch name {
            case "limit":
                guard let number = Int(value), number >= 0 else { throw ServiceError.invalid("limit must be a whole number, not \"\(value)\".") }
                limit = min(number, Self.maximumLimit)
            case "offset":
                guard let number = Int(value), number >= 0 else { throw ServiceError.invalid("offset must be a whole number, not \"\(value)\".") }
                offset = number
            case "fuzzymatching":
                fuzzy = value.lowercased() == "true"
            case "includefield":
                for field in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !field.isEmpty {
                    if field == "all" { includeAll = true; continue }
                    guard let tag = Self.tag(field) else { throw ServiceError.invalid("includefield names an unknown attribute \"\(field)\".") }
                    include.insert(tag)
                }
            case "_", "_dc", "format", "callback": continue  // cache busters some viewers add
            default:
                guard let tag = Self.tag(name) else { throw ServiceError.invalid("\"\(name)\" is not a DICOM attribute keyword or tag.") }
                matches.append((tag, value))
            }
        }
    }

    /// A keyword (PatientName) or eight hex digits (00100010).
    static func tag(_ name: String) -> Tag? {
        if name.count == 8, name.allSatisfy(\.isHexDigit) { return Tag(hex: name) }
        return DataDictionary.tag(forKeyword: name)
    }

    enum MatchKind { case uid, text, personName, date, time, integer, modalities }

    struct Column {
        let sql: String
        let kind: MatchKind
        let level: QueryLevel
    }

    /// Attributes the index can match, and the column that holds each.
    static let columns: [Tag: Column] = [
        .studyInstanceUID: Column(sql: "s.study_uid", kind: .uid, level: .study),
        .patientName: Column(sql: "s.patient_name_key", kind: .personName, level: .study),
        .patientID: Column(sql: "s.patient_id", kind: .text, level: .study),
        .issuerOfPatientID: Column(sql: "s.issuer", kind: .text, level: .study),
        .patientBirthDate: Column(sql: "s.birth_date", kind: .date, level: .study),
        .patientSex: Column(sql: "s.sex", kind: .text, level: .study),
        .studyDate: Column(sql: "s.study_date", kind: .date, level: .study),
        .studyTime: Column(sql: "s.study_time", kind: .time, level: .study),
        .accessionNumber: Column(sql: "s.accession", kind: .text, level: .study),
        .studyID: Column(sql: "s.study_id", kind: .text, level: .study),
        .referringPhysicianName: Column(sql: "s.referring_key", kind: .personName, level: .study),
        .studyDescription: Column(sql: "s.description", kind: .text, level: .study),
        .modalitiesInStudy: Column(sql: "s.modalities", kind: .modalities, level: .study),
        .seriesInstanceUID: Column(sql: "se.series_uid", kind: .uid, level: .series),
        .modality: Column(sql: "se.modality", kind: .text, level: .series),
        .seriesNumber: Column(sql: "se.series_number", kind: .integer, level: .series),
        .seriesDescription: Column(sql: "se.description", kind: .text, level: .series),
        .bodyPartExamined: Column(sql: "se.body_part", kind: .text, level: .series),
        .performedProcedureStepStartDate: Column(sql: "se.performed_date", kind: .date, level: .series),
        .performedProcedureStepStartTime: Column(sql: "se.performed_time", kind: .time, level: .series),
        .sopInstanceUID: Column(sql: "i.sop_uid", kind: .uid, level: .instance),
        .sopClassUID: Column(sql: "i.sop_class", kind: .uid, level: .instance),
        .instanceNumber: Column(sql: "i.instance_number", kind: .integer, level: .instance),
    ]

    static func rank(_ level: QueryLevel) -> Int { level == .study ? 0 : level == .series ? 1 : 2 }

    /// The SQL conditions of the matches (PS3.4 §C.2.2.2): single value, wildcard (`*`, `?`),
    /// UID list, range; attributes of a level below the query's are ignored (PS3.18 §8.3.4.1).
    func conditions() throws -> [SQLQueryString] {
        var conditions: [SQLQueryString] = []
        for (tag, raw) in matches {
            guard let column = Self.columns[tag], Self.rank(column.level) <= Self.rank(level) else { continue }
            let value = raw.trimmingCharacters(in: .whitespaces)
            if value.isEmpty || value == "*" { continue }
            let sql = column.sql
            switch column.kind {
            case .uid:
                let uids = value.split(whereSeparator: { $0 == "," || $0 == "\\" }).map { String($0).trimmingCharacters(in: .whitespaces) }
                conditions.append("\(unsafeRaw: sql) IN (\(binds: uids))")
            case .integer:
                guard let number = Int(value) else { throw ServiceError.invalid("\(tag) must be a whole number, not \"\(value)\".") }
                conditions.append("\(unsafeRaw: sql) = \(bind: number)")
            case .date, .time:
                conditions.append(try Self.range(value, column: sql, kind: column.kind, tag: tag))
            case .modalities:
                let wanted = value.split(whereSeparator: { $0 == "," || $0 == "\\" }).map(String.init)
                let alternatives: [SQLQueryString] = wanted.map { modality in
                    "('\\' || \(unsafeRaw: sql) || '\\') LIKE \(bind: "%\\" + Self.escapeLike(modality) + "\\%") ESCAPE '!'"
                }
                conditions.append("(" + alternatives.ored() + ")")
            case .personName:
                let normalized = NameKey.normalize(value)
                if fuzzy {
                    // Every word of the query starts a word of the name, in any order.
                    let words = normalized.split { $0 == "^" || $0 == " " || $0 == "=" || $0 == "," }
                    let wordsColumn = sql == "s.patient_name_key" ? "s.patient_name_words" : sql
                    for word in words {
                        let pattern = "% " + Self.escapeLike(String(word)).replacingOccurrences(of: "*", with: "%").replacingOccurrences(of: "?", with: "_") + "%"
                        conditions.append("\(unsafeRaw: wordsColumn) LIKE \(bind: pattern) ESCAPE '!'")
                    }
                } else if Self.hasWildcard(normalized) {
                    // The text before the first wildcard also bounds a range of the column's
                    // index (LIKE alone walks every study: SQLite does not use an index for a
                    // LIKE on binary text, nor PostgreSQL for a bound pattern).
                    if let (lower, upper) = Self.prefixRange(normalized) {
                        conditions.append("\(unsafeRaw: sql) >= \(bind: lower) AND \(unsafeRaw: sql) < \(bind: upper)")
                    }
                    conditions.append("\(unsafeRaw: sql) LIKE \(bind: Self.likePattern(normalized)) ESCAPE '!'")
                } else {
                    conditions.append("\(unsafeRaw: sql) = \(bind: normalized)")
                }
            case .text:
                if Self.hasWildcard(value) {
                    conditions.append("LOWER(\(unsafeRaw: sql)) LIKE LOWER(\(bind: Self.likePattern(value))) ESCAPE '!'")
                } else {
                    conditions.append("\(unsafeRaw: sql) = \(bind: value)")
                }
            }
        }
        return conditions
    }

    static func hasWildcard(_ value: String) -> Bool { value.contains("*") || value.contains("?") }

    /// The bounds of the values that start with the pattern's literal prefix, in code point
    /// order (the order of binary text in SQLite and of `COLLATE "C"` in PostgreSQL): the
    /// prefix, and the prefix with its last character advanced. Nil when the pattern starts
    /// with a wildcard.
    static func prefixRange(_ pattern: String) -> (String, String)? {
        var scalars = Array(pattern.unicodeScalars.prefix { $0 != "*" && $0 != "?" })
        let lower = String(String.UnicodeScalarView(scalars))
        while let last = scalars.popLast() {
            var next = last.value + 1
            if next == 0xD800 { next = 0xE000 }
            if let advanced = Unicode.Scalar(next) {
                scalars.append(advanced)
                return (lower, String(String.UnicodeScalarView(scalars)))
            }
        }
        return nil
    }

    static func escapeLike(_ value: String) -> String {
        var escaped = ""
        for character in value {
            if character == "%" || character == "_" || character == "!" { escaped.append("!") }
            escaped.append(character)
        }
        return escaped
    }

    static func likePattern(_ value: String) -> String {
        escapeLike(value).replacingOccurrences(of: "*", with: "%").replacingOccurrences(of: "?", with: "_")
    }

    /// Date and time ranges (PS3.4 §C.2.2.2.5): `a-b`, `a-`, `-b`, or a single value.
    static func range(_ value: String, column: String, kind: MatchKind, tag: Tag) throws -> SQLQueryString {
        func normalize(_ text: Substring) throws -> String {
            let cleaned = kind == .date ? text.filter(\.isNumber) : text.filter { $0.isNumber || $0 == "." }
            guard kind == .time || cleaned.count == 8 else { throw ServiceError.invalid("\(tag): \"\(text)\" is not a date (YYYYMMDD).") }
            guard kind == .date || (cleaned.count >= 2 && cleaned.allSatisfy({ $0.isNumber || $0 == "." })) else {
                throw ServiceError.invalid("\(tag): \"\(text)\" is not a time (HHMMSS).")
            }
            return String(cleaned)
        }
        let parts = value.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 1 {
            let single = try normalize(parts[0])
            return kind == .time ? "\(unsafeRaw: column) LIKE \(bind: single + "%")" : "\(unsafeRaw: column) = \(bind: single)"
        }
        var conditions: [SQLQueryString] = ["\(unsafeRaw: column) <> ''"]
        if !parts[0].isEmpty { conditions.append("\(unsafeRaw: column) >= \(bind: try normalize(parts[0]))") }
        if !parts[1].isEmpty {
            let upper = try normalize(parts[1])
            // An upper time bound covers the whole of its last given unit (1200 covers 12:00:59).
            conditions.append(kind == .time ? "\(unsafeRaw: column) <= \(bind: upper + "99")" : "\(unsafeRaw: column) <= \(bind: upper)")
        }
        return "(" + conditions.anded() + ")"
    }
}
