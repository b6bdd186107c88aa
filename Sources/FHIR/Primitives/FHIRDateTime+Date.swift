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
