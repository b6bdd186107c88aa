import Core
import Foundation

/// How a physician receives patients: appointment types with their length, weekly opening
/// hours (each block offers one type) and absences. Slots are planned from it; the settings
/// themselves are machinery, kept in `scheduling_availability` (DESIGN §3).
public struct AvailabilitySettings: Codable, Sendable, Equatable {
    public struct AppointmentType: Codable, Sendable, Equatable {
        public var code: String
        public var label: String
        public var minutes: Int

        public init(code: String, label: String, minutes: Int) {
            self.code = code
            self.label = label
            self.minutes = minutes
        }
    }

    /// One block of opening hours, every week: ISO weekday (1 = Monday … 7 = Sunday), local
    /// times "HH:mm" in the schedule's time zone, and the appointment type it offers.
    public struct OpeningHours: Codable, Sendable, Equatable {
        public var weekday: Int
        public var start: String
        public var end: String
        public var type: String

        public init(weekday: Int, start: String, end: String, type: String) {
            self.weekday = weekday
            self.start = start
            self.end = end
            self.type = type
        }
    }

    /// Days off, both ends included ("YYYY-MM-DD", local dates).
    public struct Absence: Codable, Sendable, Equatable {
        public var start: String
        public var end: String
        public var reason: String?

        public init(start: String, end: String, reason: String? = nil) {
            self.start = start
            self.end = end
            self.reason = reason
        }
    }

    public var timeZone: String
    public var appointmentTypes: [AppointmentType]
    public var openingHours: [OpeningHours]
    public var absences: [Absence]
    /// How many days ahead slots are published.
    public var horizonDays: Int

    enum CodingKeys: String, CodingKey {
        case timeZone = "time_zone", appointmentTypes = "appointment_types", openingHours = "opening_hours", absences
        case horizonDays = "horizon_days"
    }

    public init(
        timeZone: String = "Europe/Paris", appointmentTypes: [AppointmentType], openingHours: [OpeningHours], absences: [Absence] = [],
        horizonDays: Int = 28
    ) {
        self.timeZone = timeZone
        self.appointmentTypes = appointmentTypes
        self.openingHours = openingHours
        self.absences = absences
        self.horizonDays = horizonDays
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? "Europe/Paris"
        appointmentTypes = try container.decode([AppointmentType].self, forKey: .appointmentTypes)
        openingHours = try container.decode([OpeningHours].self, forKey: .openingHours)
        absences = try container.decodeIfPresent([Absence].self, forKey: .absences) ?? []
        horizonDays = try container.decodeIfPresent(Int.self, forKey: .horizonDays) ?? 28
    }

    /// Most slots one schedule publishes at a time.
    public static let maximumSlots = 5000

    /// Checks every rule a schedule must follow; the first broken one is reported.
    public func validate() throws {
        guard TimeZone(identifier: timeZone) != nil else { throw ServiceError.invalid("Unknown time zone \(timeZone).") }
        guard (1...180).contains(horizonDays) else { throw ServiceError.invalid("Publish between 1 and 180 days ahead.") }
        guard (1...20).contains(appointmentTypes.count) else { throw ServiceError.invalid("Give between 1 and 20 appointment types.") }
        var codes = Set<String>()
        for type in appointmentTypes {
            guard !type.code.isEmpty, type.code.count <= 40, type.code.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
                throw ServiceError.invalid("Appointment type codes are 1 to 40 lowercase letters, digits or dashes (\(type.code)).")
            }
            guard codes.insert(type.code).inserted else { throw ServiceError.invalid("The appointment type \(type.code) is given twice.") }
            guard (5...480).contains(type.minutes) else { throw ServiceError.invalid("An appointment lasts between 5 and 480 minutes (\(type.code)).") }
            guard !type.label.trimmingCharacters(in: .whitespaces).isEmpty, type.label.count <= 100 else {
                throw ServiceError.invalid("Each appointment type needs a label of at most 100 characters.")
            }
        }
        guard openingHours.count <= 100 else { throw ServiceError.invalid("At most 100 blocks of opening hours.") }
        var byDay: [Int: [(Int, Int)]] = [:]
        for block in openingHours {
            guard (1...7).contains(block.weekday) else { throw ServiceError.invalid("Weekdays run from 1 (Monday) to 7 (Sunday).") }
            guard let start = Self.minutes(block.start), let end = Self.minutes(block.end), start < end else {
                throw ServiceError.invalid("Opening hours are \"HH:mm\" to a later \"HH:mm\" (\(block.start)–\(block.end)).")
            }
            guard codes.contains(block.type) else { throw ServiceError.invalid("Opening hours offer an unknown appointment type \(block.type).") }
            byDay[block.weekday, default: []].append((start, end))
        }
        for (weekday, blocks) in byDay {
            let sorted = blocks.sorted { $0.0 < $1.0 }
            for (previous, next) in zip(sorted, sorted.dropFirst()) where next.0 < previous.1 {
                throw ServiceError(422, "overlapping-hours", "Opening hours overlap on weekday \(weekday): slots of one physician never overlap.")
            }
        }
        guard absences.count <= 100 else { throw ServiceError.invalid("At most 100 absences.") }
        for absence in absences {
            guard let start = Self.day(absence.start), let end = Self.day(absence.end), start <= end else {
                throw ServiceError.invalid("An absence runs from one date \"YYYY-MM-DD\" to the same or a later one.")
            }
            if let reason = absence.reason, reason.count > 200 { throw ServiceError.invalid("An absence's reason has at most 200 characters.") }
        }
    }

    /// One slot the settings publish.
    public struct PlannedSlot: Sendable, Equatable {
        public var start: Date
        public var end: Date
        public var type: String
        /// Inside an absence: published as busy-unavailable.
        public var absent: Bool
    }

    /// The slots from `from` (slots starting earlier are left out) for `horizonDays` days.
    public func slots(from: Date) throws -> [PlannedSlot] {
        guard let zone = TimeZone(identifier: timeZone) else { return [] }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let minutesByType = Dictionary(uniqueKeysWithValues: appointmentTypes.map { ($0.code, $0.minutes) })
        let firstDay = calendar.startOfDay(for: from)
        var planned: [PlannedSlot] = []
        for offset in 0..<horizonDays {
            guard let day = calendar.date(byAdding: .day, value: offset, to: firstDay) else { continue }
            let weekday = (calendar.component(.weekday, from: day) + 5) % 7 + 1
            let absent = isAbsent(on: Self.dayString(day, calendar: calendar))
            for block in openingHours where block.weekday == weekday {
                guard let startMinutes = Self.minutes(block.start), let endMinutes = Self.minutes(block.end), let length = minutesByType[block.type] else {
                    continue
                }
                var minute = startMinutes
                while minute + length <= endMinutes {
                    if let start = calendar.date(bySettingHour: minute / 60, minute: minute % 60, second: 0, of: day), start >= from {
                        planned.append(PlannedSlot(start: start, end: start.addingTimeInterval(TimeInterval(length * 60)), type: block.type, absent: absent))
                    }
                    minute += length
                }
            }
            if planned.count > Self.maximumSlots {
                throw ServiceError.invalid("These settings publish more than \(Self.maximumSlots) slots: shorten the horizon or lengthen the slots.")
            }
        }
        return planned.sorted { $0.start < $1.start }
    }

    /// Whether the local date "YYYY-MM-DD" falls in an absence.
    public func isAbsent(on day: String) -> Bool {
        absences.contains { $0.start <= day && day <= $0.end }
    }

    /// The local date of an instant in this schedule's time zone.
    public func localDay(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        return Self.dayString(date, calendar: calendar)
    }

    public func label(of type: String) -> String {
        appointmentTypes.first { $0.code == type }?.label ?? type
    }

    static func dayString(_ date: Date, calendar: Calendar) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0...24).contains(hours), (0..<60).contains(minutes), hours * 60 + minutes <= 24 * 60
        else { return nil }
        return hours * 60 + minutes
    }

    static func day(_ text: String) -> String? {
        let parts = text.split(separator: "-")
        guard text.count == 10, parts.count == 3, let month = Int(parts[1]), let day = Int(parts[2]), Int(parts[0]) != nil,
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return text
    }
}
