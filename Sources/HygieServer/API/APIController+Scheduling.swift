import Access
import Core
import Foundation
import Hummingbird
import Scheduling

/// `/api/v1` for availability, appointments and notifications (issue 4). The rules are
/// Scheduling's; this only reads parameters and renders answers.
extension APIController {
    func addSchedulingRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("physicians", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            let physicians = try await scheduling.directory(
                hospital: parameters["hospital"].map(String.init), specialty: parameters["specialty"].map(String.init), tenant: principal.tenant)
            // The directory is sorted by name; the cursor is the offset of the next page.
            let limit = try queryLimit(parameters["limit"])
            guard let offset = Int(parameters["cursor"].map(String.init) ?? "0"), offset >= 0 else { throw ServiceError.invalid("Unknown cursor.") }
            let page = physicians.dropFirst(offset).prefix(limit).map(PhysicianView.init)
            return try json(PageView(items: Array(page), next_cursor: offset + limit < physicians.count ? String(offset + limit) : nil))
        })
        api.get("physicians/:id/availability", use: wrap { request, context in
            let principal = try await principal(request, context)
            guard let settings = try await scheduling.availability(of: try context.parameters.require("id"), by: principal) else {
                throw ServiceError.notFound("Availability of this physician")
            }
            return try json(settings)
        })
        api.put("physicians/:id/availability", use: wrap { request, context in
            let principal = try await principal(request, context)
            let settings = try await decode(AvailabilitySettings.self, request, context)
            let published = try await scheduling.saveAvailability(settings, for: try context.parameters.require("id"), by: principal)
            return try json(["published_slots": published])
        })
        api.get("availability", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            let search = SlotSearch(
                practitioner: parameters["practitioner"].map(String.init), hospital: parameters["hospital"].map(String.init),
                specialty: parameters["specialty"].map(String.init), type: parameters["type"].map(String.init),
                from: try queryDate(parameters["from"], name: "from"), to: try queryDate(parameters["to"], name: "to"),
                limit: try queryLimit(parameters["limit"]), cursor: parameters["cursor"].map(String.init))
            let page = try await scheduling.freeSlots(search, tenant: principal.tenant)
            return try json(PageView(items: page.items.map(FreeSlotView.init), next_cursor: page.next))
        })
        api.get("appointments", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            let filter = AppointmentFilter(
                statuses: parameters["status"].map { $0.split(separator: ",").map(String.init) } ?? [],
                practitioner: parameters["practitioner"].map(String.init), patient: parameters["patient"].map(String.init),
                from: try queryDate(parameters["from"], name: "from"), to: try queryDate(parameters["to"], name: "to"),
                limit: try queryLimit(parameters["limit"]), cursor: parameters["cursor"].map(String.init))
            let page = try await scheduling.appointments(filter, by: principal)
            return try json(PageView(items: page.items.map(AppointmentView.init), next_cursor: page.next))
        })
        api.post("appointments", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(AppointmentBody.self, request, context)
            let appointment: AppointmentSummary
            if principal.role == .secretary {
                guard let patient = body.patient, let slot = body.slot else {
                    throw ServiceError.invalid("To book directly, name the \"patient\" and a free \"slot\".")
                }
                appointment = try await scheduling.book(patient: patient, slot: slot, reason: body.reason, by: principal)
            } else {
                guard let practitioner = body.practitioner else { throw ServiceError.invalid("Name the physician (\"practitioner\").") }
                appointment = try await scheduling.request(practitioner: practitioner, slot: body.slot, reason: body.reason, by: principal)
            }
            return try json(AppointmentView(appointment), status: .created)
        })
        api.get("appointments/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            return try json(AppointmentView(try await scheduling.appointment(try context.parameters.require("id"), by: principal)))
        })
        api.post("appointments/:id/validate", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decodeOptional(SlotBody.self, request, context)
            let appointment = try await scheduling.validate(try context.parameters.require("id"), slot: body?.slot, by: principal)
            return try json(AppointmentView(appointment))
        })
        api.post("appointments/:id/decline", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(ReasonBody.self, request, context)
            return try json(AppointmentView(try await scheduling.decline(try context.parameters.require("id"), reason: body.reason, by: principal)))
        })
        api.post("appointments/:id/cancel", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decodeOptional(ReasonBody.self, request, context)
            return try json(AppointmentView(try await scheduling.cancel(try context.parameters.require("id"), reason: body?.reason, by: principal)))
        })
        api.post("appointments/:id/reschedule", use: wrap { request, context in
            let principal = try await principal(request, context)
            guard let slot = try await decode(SlotBody.self, request, context).slot else { throw ServiceError.invalid("Name the new \"slot\".") }
            return try json(AppointmentView(try await scheduling.reschedule(try context.parameters.require("id"), slot: slot, by: principal)))
        })
        api.get("notifications", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            let page = try await InAppNotification.list(
                for: principal.reference, store: store, tenant: principal.tenant, limit: try queryLimit(parameters["limit"]),
                cursor: parameters["cursor"].map(String.init))
            return try json(PageView(items: page.items.map(NotificationView.init), next_cursor: page.next))
        })
    }

    /// A JSON body that may be left out entirely.
    func decodeOptional<T: Decodable>(_ type: T.Type, _ request: Request, _ context: AppRequestContext) async throws -> T? {
        guard let length = request.headers[.contentLength], Int(length) ?? 0 > 0 else {
            if request.headers[.transferEncoding] == nil { return nil }
            return try await decode(type, request, context)
        }
        return try await decode(type, request, context)
    }
}
