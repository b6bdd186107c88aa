/// A FHIR date, dateTime or instant value, parsed with its precision (FHIR R4 §2.24.0.1).
///
/// A value names a range, not a point: `2020-03` is all of March 2020. Search compares ranges
/// (FHIR R4 search §3.1.1.4.7, "date"), so `range` gives the first and last millisecond the
/// value covers, in milliseconds since 1970-01-01T00:00:00Z.
public struct FHIRDateTime: Sendable, Hashable {
    public enum Precision: Int, Sendable, Comparable {
        case year, month, day, minute, second, tenth, hundredth, millisecond

        public static func < (lhs: Precision, rhs: Precision) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var year: Int
    public var month: Int = 1
    public var day: Int = 1
    public var hour: Int = 0
    public var minute: Int = 0
    public var second: Int = 0
    /// Milliseconds within the second.
    public var millisecond: Int = 0
    public var precision: Precision
    /// Offset from UTC in seconds; nil when the value has no time or no zone.
    public var utcOffset: Int?

    /// What a lexical form may hold.
    public struct Grammar: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Year, year-month or full date.
        public static let partialDate = Grammar(rawValue: 1)
        /// A time of day after the date.
        public static let time = Grammar(rawValue: 2)
        /// The time must be complete to the second with a zone (instant).
        public static let requireFullTime = Grammar(rawValue: 4)
        /// Search values: time to the minute and a missing zone are accepted (zone = UTC).
        public static let lenientTime = Grammar(rawValue: 8)

        public static let date: Grammar = [.partialDate]
        public static let dateTime: Grammar = [.partialDate, .time]
        public static let instant: Grammar = [.time, .requireFullTime]
        public static let search: Grammar = [.partialDate, .time, .lenientTime]
    }

    public static func parse(_ text: String, grammar: Grammar) -> FHIRDateTime? {
        var scanner = Scanner(bytes: Array(text.utf8))
        guard let year = scanner.digits(4), year >= 1 else { return nil }
        var value = FHIRDateTime(year: year, precision: .year)
        if scanner.atEnd { return grammar.contains(.partialDate) && !grammar.contains(.requireFullTime) ? value : nil }
        guard scanner.take(UInt8(ascii: "-")), let month = scanner.digits(2), (1...12).contains(month) else { return nil }
        value.month = month
        value.precision = .month
        if scanner.atEnd { return grammar.contains(.partialDate) && !grammar.contains(.requireFullTime) ? value : nil }
        guard scanner.take(UInt8(ascii: "-")), let day = scanner.digits(2), day >= 1,
            day <= daysInMonth(year: year, month: month)
        else { return nil }
        value.day = day
        value.precision = .day
        if scanner.atEnd { return grammar.contains(.requireFullTime) ? nil : value }
        guard grammar.contains(.time), scanner.take(UInt8(ascii: "T")),
            let hour = scanner.digits(2), hour <= 23,
            scanner.take(UInt8(ascii: ":")), let minute = scanner.digits(2), minute <= 59
        else { return nil }
        value.hour = hour
        value.minute = minute
        value.precision = .minute
        if scanner.take(UInt8(ascii: ":")) {
            guard let second = scanner.digits(2), second <= 60 else { return nil }
            value.second = min(second, 59)
            value.precision = .second
            if scanner.take(UInt8(ascii: ".")) {
                var digits = 0
                var fraction = 0
                while let digit = scanner.digit() {
                    if digits < 3 { fraction = fraction * 10 + digit }
                    digits += 1
                }
                guard digits > 0 else { return nil }
                for _ in min(digits, 3)..<3 { fraction *= 10 }
                value.millisecond = fraction
                value.precision = digits == 1 ? .tenth : digits == 2 ? .hundredth : .millisecond
            }
        } else if !grammar.contains(.lenientTime) {
            return nil
        }
        if scanner.take(UInt8(ascii: "Z")) {
            value.utcOffset = 0
        } else if let sign = scanner.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            scanner.index += 1
            guard let hours = scanner.digits(2), hours <= 14, scanner.take(UInt8(ascii: ":")),
                let minutes = scanner.digits(2), minutes <= 59
            else { return nil }
            let offset = hours * 3600 + minutes * 60
            value.utcOffset = sign == UInt8(ascii: "-") ? -offset : offset
        } else if !grammar.contains(.lenientTime) {
            return nil
        }
        return scanner.atEnd ? value : nil
    }

    /// First and last millisecond covered by the value, UTC. Values without a zone are read
    /// as UTC.
    public var range: ClosedRange<Int64> {
        let offset = Int64(utcOffset ?? 0) * 1000
        let start: Int64
        let end: Int64
        switch precision {
        case .year:
            start = Self.epochMillis(year: year, month: 1, day: 1)
            end = Self.epochMillis(year: year + 1, month: 1, day: 1) - 1
        case .month:
            start = Self.epochMillis(year: year, month: month, day: 1)
            let next = month == 12 ? (year + 1, 1) : (year, month + 1)
            end = Self.epochMillis(year: next.0, month: next.1, day: 1) - 1
        case .day:
            start = Self.epochMillis(year: year, month: month, day: day)
            end = start + 86_400_000 - 1
        case .minute:
            start = Self.epochMillis(year: year, month: month, day: day) + Int64(hour * 3600 + minute * 60) * 1000 - offset
            end = start + 60_000 - 1
        case .second, .tenth, .hundredth, .millisecond:
            start =
                Self.epochMillis(year: year, month: month, day: day) + Int64(hour * 3600 + minute * 60 + second) * 1000
                + Int64(millisecond) - offset
            let width: Int64 = precision == .second ? 1000 : precision == .tenth ? 100 : precision == .hundredth ? 10 : 1
            end = start + width - 1
        }
        return start...end
    }

    public static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Milliseconds from 1970-01-01 to the start of a civil date (proleptic Gregorian), after
    /// H. Hinnant's days_from_civil.
    public static func epochMillis(year: Int, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Int64(days) * 86_400_000
    }

    /// The civil date and time (UTC) of an epoch millisecond.
    public static func components(epochMillis: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        var days = Int(epochMillis / 86_400_000)
        var rest = Int(epochMillis % 86_400_000)
        if rest < 0 {
            rest += 86_400_000
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000)
    }

    /// An instant as FHIR writes it, UTC with milliseconds: `2026-11-21T10:15:30.123Z`.
    public static func instantString(epochMillis: Int64) -> String {
        let c = components(epochMillis: epochMillis)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):"
            + "\(pad(c.second, 2)).\(pad(c.millisecond, 3))Z"
    }

    /// An HTTP date (RFC 9110 §5.6.7, IMF-fixdate), for `Last-Modified`.
    public static func httpDate(epochMillis: Int64) -> String {
        let c = components(epochMillis: epochMillis)
        let days = Int((epochMillis >= 0 ? epochMillis : epochMillis - 86_399_999) / 86_400_000)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][c.month - 1]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(c.day)) \(month) \(c.year) \(two(c.hour)):\(two(c.minute)):\(two(c.second)) GMT"
    }

    /// Parses an HTTP date (IMF-fixdate) into epoch milliseconds.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])) else { return nil }
        let time = parts[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3 else { return nil }
        return epochMillis(year: year, month: monthIndex + 1, day: day) + Int64(time[0] * 3600 + time[1] * 60 + time[2]) * 1000
    }
}

/// A tiny forward scanner over ASCII bytes.
struct Scanner {
    let bytes: [UInt8]
    var index = 0

    var atEnd: Bool { index >= bytes.count }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digit() -> Int? {
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { return nil }
        defer { index += 1 }
        return Int(bytes[index] - UInt8(ascii: "0"))
    }

    mutating func digits(_ count: Int) -> Int? {
        var value = 0
        for _ in 0..<count {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }
}
