import Core
import FHIR
import FHIRStore
import Foundation
import Scheduling

/// One page of a list and the cursor of the next (`?cursor=`), nil on the last page.
struct PageView<Item: Encodable>: Encodable {
    let items: [Item]
    let next_cursor: String?
}

struct FreeSlotView: Encodable {
    let id: String
    let practitioner: String
    let practitioner_name: String
    let hospital: String?
    let specialties: [String]
    let start: String
    let end: String
    let type: String
    let type_label: String

    init(_ slot: FreeSlot) {
        id = slot.id
        practitioner = slot.practitioner
        practitioner_name = slot.practitionerName
        hospital = slot.hospital
        specialties = slot.specialties
        start = slot.start
        end = slot.end
        type = slot.type
        type_label = slot.typeLabel
    }
}

struct PhysicianView: Encodable {
    let id: String
    let name: String
    let hospital: String?
    let specialties: [String]

    init(_ physician: SchedulingService.Physician) {
        id = physician.id
        name = physician.name
        hospital = physician.hospital
        specialties = physician.specialties
    }
}

struct AppointmentView: Encodable {
    let id: String
    let version: Int
    let status: String
    let patient: String
    let patient_name: String?
    let practitioner: String
    let practitioner_name: String?
    let hospital: String?
    let start: String?
    let end: String?
    let type: String?
    let type_label: String?
    let reason: String?
    let cancellation_reason: String?
    let slot: String?
    let created: String?

    init(_ appointment: AppointmentSummary) {
        id = appointment.id
        version = appointment.version
        status = appointment.status
        patient = appointment.patient
        patient_name = appointment.patientName
        practitioner = appointment.practitioner
        practitioner_name = appointment.practitionerName
        hospital = appointment.hospital
        start = appointment.start
        end = appointment.end
        type = appointment.type
        type_label = appointment.typeLabel
        reason = appointment.reason
        cancellation_reason = appointment.cancellationReason
        slot = appointment.slot
        created = appointment.created
    }
}

/// `POST /appointments`: a patient's request (practitioner, slot or reason) or a
/// secretary's direct booking (patient, slot).
struct AppointmentBody: Decodable {
    let practitioner: String?
    let patient: String?
    let slot: String?
    let reason: String?
}

struct SlotBody: Decodable {
    let slot: String?
}

struct ReasonBody: Decodable {
    let reason: String?
}

struct NotificationView: Encodable {
    let id: String
    let code: String
    let text: String
    let sent: String
    let about: String?

    init(_ notice: InAppNotification) {
        id = notice.id
        code = notice.code
        text = notice.text
        sent = notice.sent
        about = notice.about
    }
}

/// An in-app notification addressed to the signed-in person (a Communication with category
/// notification, DESIGN §3).
struct InAppNotification: Sendable {
    let id: String
    let code: String
    let text: String
    let sent: String
    let about: String?

    /// The principal's notifications, newest first.
    static func list(for reference: String?, store: FHIRStore, tenant: TenantID, limit: Int, cursor: String?) async throws -> Page<InAppNotification> {
        guard let reference else { return Page(items: [], next: nil) }
        guard (1...100).contains(limit) else { throw ServiceError.invalid("limit is between 1 and 100.") }
        var query = try SearchQuery.parse(
            resourceType: "Communication",
            parameters: [
                ("recipient", reference), ("category", "\(HygieResources.notificationCategory)|notification"), ("_sort", "-sent"),
                ("_count", String(limit)),
            ])
        query.total = TotalMode.none
        query.cursor = cursor
        let result = try await store.search(query, as: .system(tenant))
        let items = try result.matches.map { match in
            let json = try match.json()
            return InAppNotification(
                id: match.id, code: json["reasonCode"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? "",
                text: json["payload"]?.arrayValue?.first?["contentString"]?.stringValue ?? "", sent: json["sent"]?.stringValue ?? "",
                about: json["about"]?.arrayValue?.first?["reference"]?.stringValue)
        }
        return Page(items: items, next: result.nextCursor)
    }
}

/// A date or instant from a query parameter ("2026-12-01" or "2026-12-01T09:00:00Z").
func queryDate(_ value: Substring?, name: String) throws -> Date? {
    guard let value else { return nil }
    guard let parsed = FHIRDateTime.parse(String(value), grammar: .search) else {
        throw ServiceError.invalid("\"\(name)\" is a date (YYYY-MM-DD) or an instant.")
    }
    return Date(timeIntervalSince1970: TimeInterval(parsed.range.lowerBound) / 1000)
}

func queryLimit(_ value: Substring?) throws -> Int {
    guard let value else { return 20 }
    guard let limit = Int(value), (1...100).contains(limit) else { throw ServiceError.invalid("limit is between 1 and 100.") }
    return limit
}
