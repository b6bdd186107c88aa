import Foundation

extension FHIRDateTime {
    /// Milliseconds since 1970 of a Foundation date, rounded down (what the store records).
    public static func epochMillis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// A Foundation date as a FHIR instant, UTC with milliseconds.
    public static func instantString(_ date: Date) -> String {
        instantString(epochMillis: epochMillis(date))
    }
}

extension FHIRDateTime {
    /// A date or instant as French pages and notices write it: "21/11/2026" for a date,
    /// "21/11/2026 14:30" for a moment, in local time of `timeZone` (Paris by default).
    public static func localDisplay(_ text: String?, timeZone: String = "Europe/Paris") -> String {
        guard let text, let parsed = parse(text, grammar: .dateTime) else { return "" }
        if parsed.precision <= .day { return String(format: "%02d/%02d/%04d", parsed.day, parsed.month, parsed.year) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute], from: Date(timeIntervalSince1970: TimeInterval(parsed.range.lowerBound) / 1000))
        return String(format: "%02d/%02d/%04d %02d:%02d", parts.day ?? 0, parts.month ?? 0, parts.year ?? 0, parts.hour ?? 0, parts.minute ?? 0)
    }
}
