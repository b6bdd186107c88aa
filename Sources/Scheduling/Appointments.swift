import Core
import Foundation

/// An appointment as the API and the pages show it.
public struct AppointmentSummary: Sendable, Equatable {
    public var id: String
    public var version: Int
    public var status: String
    public var patient: String
    public var patientName: String?
    public var practitioner: String
    public var practitionerName: String?
    public var hospital: String?
    public var start: String?
    public var end: String?
    public var type: String?
    public var typeLabel: String?
    public var reason: String?
    public var cancellationReason: String?
    public var slot: String?
    /// When the request or booking was made.
    public var created: String?
}

/// Which appointments a list shows.
public struct AppointmentFilter: Sendable {
    public var statuses: [String]
    public var practitioner: String?
    public var patient: String?
    public var from: Date?
    public var to: Date?
    public var limit: Int
    public var cursor: String?

    public init(
        statuses: [String] = [], practitioner: String? = nil, patient: String? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 20,
        cursor: String? = nil
    ) {
        self.statuses = statuses
        self.practitioner = practitioner
        self.patient = patient
        self.from = from
        self.to = to
        self.limit = limit
        self.cursor = cursor
    }

    public static let statusCodes: Set<String> = [
        "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error", "checked-in", "waitlist",
    ]
}

extension ServiceError {
    public static let slotTaken = ServiceError(409, "slot-taken", "This slot is already taken: choose another one.")
    public static let physicianAbsent = ServiceError(409, "physician-absent", "The physician is absent on that date: choose another day.")
    public static let patientBusy = ServiceError(409, "patient-busy", "The patient already has an appointment at an overlapping time.")
}
