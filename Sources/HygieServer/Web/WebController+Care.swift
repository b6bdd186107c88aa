import Access
import Core
import FHIR
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Records
import Scheduling

/// The care pages of issue 4: the patient's portal and appointment request, the
/// secretary's queue, availability, the patient chart, notifications. The rules are those
/// of Scheduling and Records, exactly as `/api/v1` applies them.
extension WebController {
    func addCareRoutes(to router: Router<AppRequestContext>) {
        router.get("/portal", use: page { request, context in
            try await signedIn(request, context) { session in try await portalPage(request, session, principal(session, context)) }
        })
        router.get("/appointments/request", use: page { request, context in
            try await signedIn(request, context) { session in try await requestPage(request, session, principal(session, context)) }
        })
        router.post("/appointments/request", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let principal = principal(session, context)
                do {
                    _ = try await scheduling.request(
                        practitioner: form["practitioner"] ?? "", slot: Self.optional(form["slot"]), reason: Self.optional(form["reason"]), by: principal)
                } catch let error as ServiceError {
                    return try await requestPage(request, session, principal, error: message(error, request))
                }
                return Response.redirect(to: "/portal?done=requested", type: .found)
            }
        })
        router.get("/appointments", use: page { request, context in
            try await signedIn(request, context) { session in try await appointmentsPage(request, session, principal(session, context)) }
        })
        for action in ["validate", "decline", "cancel", "reschedule"] {
            router.post("/appointments/:id/\(action)", use: page { request, context in
                try await signedIn(request, context, form: true) { session, form in
                    let principal = principal(session, context)
                    let id = context.parameters.get("id") ?? ""
                    let back = Self.safeNext(form["back"])
                    do {
                        switch action {
                        case "validate": _ = try await scheduling.validate(id, slot: Self.optional(form["slot"]), by: principal)
                        case "decline": _ = try await scheduling.decline(id, reason: form["reason"], by: principal)
                        case "cancel": _ = try await scheduling.cancel(id, reason: form["reason"], by: principal)
                        default: _ = try await scheduling.reschedule(id, slot: form["slot"] ?? "", by: principal)
                        }
                    } catch let error as ServiceError {
                        if back.hasPrefix("/portal") { return try await portalPage(request, session, principal, error: message(error, request)) }
                        return try await appointmentsPage(request, session, principal, error: message(error, request))
                    }
                    return Response.redirect(to: back + (back.contains("?") ? "&" : "?") + "done=\(action)", type: .found)
                }
            })
        }
        router.post("/appointments/book", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let principal = principal(session, context)
                do {
                    _ = try await scheduling.book(patient: form["patient"] ?? "", slot: form["slot"] ?? "", reason: Self.optional(form["reason"]), by: principal)
                } catch let error as ServiceError {
                    return try await appointmentsPage(request, session, principal, error: message(error, request))
                }
                return Response.redirect(to: "/appointments?done=booked", type: .found)
            }
        })
        router.get("/availability", use: page { request, context in
            try await signedIn(request, context) { session in try await availabilityPage(request, session, principal(session, context)) }
        })
        router.post("/availability", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let principal = principal(session, context)
                let practitioner = form["practitioner"] ?? ""
                do {
                    let settings = try Self.availability(from: form)
                    let published = try await scheduling.saveAvailability(settings, for: practitioner, by: principal)
                    let text = renderer.text("availability_saved", WebRenderer.language(request)).replacingOccurrences(of: "%d", with: String(published))
                    return try await availabilityPage(request, session, principal, practitioner: practitioner, flash: text)
                } catch let error as ServiceError {
                    return try await availabilityPage(request, session, principal, practitioner: practitioner, error: message(error, request))
                }
            }
        })
        router.get("/notifications", use: page { request, context in
            try await signedIn(request, context) { session in
                let principal = principal(session, context)
                let page = try await InAppNotification.list(for: principal.reference, store: identity.fhir, tenant: tenant, limit: 100, cursor: nil)
                let language = WebRenderer.language(request)
                let items = page.items.map { notice -> [String: String] in
                    ["sent": Self.display(notice.sent), "title": renderer.text("notif_\(notice.code)", language), "text": notice.text]
                }
                var response = render("notifications", title: "notifications_title", request, session: session, ["items": items])
                // What was shown counts as seen: the navigation's badge counts what came after.
                if let newest = page.items.map(\.sent).max() { response.setCookie(cookie(Self.seenNoticesCookie, newest, maxAge: 365 * 24 * 3600)) }
                return response
            }
        })
        // The navigation's badge: notifications sent after the newest one the account has seen.
        router.get("/notifications/unread.json", use: page { request, context in
            try await signedIn(request, context) { session in
                let principal = principal(session, context)
                let seen = request.cookies[Self.seenNoticesCookie]?.value ?? ""
                let page = try await InAppNotification.list(for: principal.reference, store: identity.fhir, tenant: tenant, limit: 100, cursor: nil)
                let unread = page.items.filter { notice in (FHIRDateTime.parse(notice.sent, grammar: .dateTime)?.range.lowerBound ?? 0) > (FHIRDateTime.parse(seen, grammar: .dateTime)?.range.lowerBound ?? 0) }.count
                return Response(
                    status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(string: "{\"unread\":\(unread)}")))
            }
        })
        addChartRoutes(to: router)
    }

    // MARK: patient portal

    func portalPage(_ request: Request, _ session: WebSession, _ principal: Principal, error: String? = nil) async throws -> Response {
        guard principal.role == .patient, let patient = principal.patient else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let language = WebRenderer.language(request)
        let card = try await records.patient(patient, by: principal)
        let appointments = try await scheduling.appointments(AppointmentFilter(limit: 100), by: principal).items
        let entries = try await records.entries(patient: patient, kind: nil, limit: 200, cursor: nil, by: principal).items
        var studies: [[String: String]] = []
        let imaging = try await identity.fhir.perform(
            FHIRRequest(method: "GET", target: .type("ImagingStudy"), query: [("patient", "Patient/\(patient)"), ("_count", "50")]), as: Policy.caller(principal))
        for entry in imaging.json?["entry"]?.arrayValue ?? [] {
            let study = entry["resource"]
            studies.append(["started": Self.display(study?["started"]?.stringValue), "description": study?["description"]?.stringValue ?? "—"])
        }
        let flash = request.uri.queryParameters["done"].map { renderer.text("done_\($0)", language) }
        return render(
            "portal", title: "portal_title", request, session: session,
            [
                "name": card.name, "team": card.careTeam.map { ["name": $0.name] }, "appointments": appointmentRows(appointments, language, back: "/portal"),
                "entries": entryRows(entries, language, patient: patient, editable: false), "studies": studies,
            ], error: error, flash: flash)
    }

    func requestPage(_ request: Request, _ session: WebSession, _ principal: Principal, error: String? = nil) async throws -> Response {
        guard principal.role == .patient else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let parameters = request.uri.queryParameters
        let chosen = parameters["practitioner"].map(String.init).flatMap(Self.optional)
        let physicians = try await scheduling.directory(hospital: nil, specialty: nil, tenant: tenant)
        let hospitals = try await identity.hospitals(by: principal)
        let hospitalNames = Dictionary(uniqueKeysWithValues: hospitals.map { ($0.id, $0.name) })
        var slots: [[String: String]] = []
        if let chosen {
            slots = try await scheduling.freeSlots(SlotSearch(practitioner: chosen, limit: 40), tenant: tenant).items.map { slot in
                ["id": slot.id, "when": Self.display(slot.start), "type": slot.typeLabel]
            }
        }
        let options = physicians.map { physician -> [String: Any] in
            [
                "id": physician.id, "selected": physician.id == chosen,
                "label": "\(physician.name) — \(physician.specialties.joined(separator: ", ")) — \(physician.hospital.flatMap { hospitalNames[$0] } ?? "")",
            ]
        }
        return render(
            "appointment-request", title: "request_title", request, session: session,
            ["physicians": options, "chosen": chosen ?? "", "hasChosen": chosen != nil, "slots": slots, "hasSlots": !slots.isEmpty], error: error)
    }

    // MARK: appointments (secretary's queue, physician's list)

    func appointmentsPage(_ request: Request, _ session: WebSession, _ principal: Principal, error: String? = nil) async throws -> Response {
        guard [.secretary, .physician, .patient].contains(principal.role) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        if principal.role == .patient { return try await portalPage(request, session, principal, error: error) }
        let language = WebRenderer.language(request)
        let parameters = request.uri.queryParameters
        let practitioner = parameters["practitioner"].map(String.init).flatMap(Self.optional)
        let day = parameters["date"].map(String.init).flatMap(Self.optional)
        var from: Date?
        var to: Date?
        if let day {
            from = try queryDate(Substring(day), name: "date")
            to = from?.addingTimeInterval(86_400)
        }
        var values: [String: Any] = ["date": day ?? "", "isSecretary": principal.role == .secretary]
        if principal.role == .secretary {
            let pending = try await scheduling.appointments(
                AppointmentFilter(statuses: ["proposed"], practitioner: practitioner, from: from, to: to, limit: 100), by: principal
            ).items
            var freeByPhysician: [String: [[String: String]]] = [:]
            for physician in Set(pending.filter { $0.slot == nil }.map(\.practitioner)) {
                freeByPhysician[physician] = try await freeSlotOptions(physician)
            }
            values["pending"] = appointmentRows(pending, language, back: "/appointments").map { row in
                var row = row
                if row["slot"] as? String == "", let physician = row["practitioner"] as? String { row["freeSlots"] = freeByPhysician[physician] ?? [] }
                return row
            }
            let hospitalPhysicians = try await scheduling.directory(hospital: principal.hospital, specialty: nil, tenant: tenant)
            values["physicians"] = hospitalPhysicians.map { ["id": $0.id, "name": $0.name, "selected": $0.id == practitioner] }
            var booked = try await scheduling.appointments(
                AppointmentFilter(statuses: ["booked"], practitioner: practitioner, from: from ?? Date(), to: to, limit: 100), by: principal
            ).items
            booked.sort { ($0.start ?? "") < ($1.start ?? "") }
            var bookedRows: [[String: Any]] = []
            for row in appointmentRows(booked, language, back: "/appointments") {
                var row = row
                if let physician = row["practitioner"] as? String { row["freeSlots"] = try await freeSlotOptions(physician) }
                bookedRows.append(row)
            }
            values["booked"] = bookedRows
            if let practitioner {
                // Direct booking for a patient she sees, on a free slot of the chosen physician.
                let patients = try await records.patients(matching: nil, limit: 100, cursor: nil, by: principal).items
                values["booking"] = [
                    "patients": patients.map { ["id": $0.id, "name": $0.name] }, "slots": try await freeSlotOptions(practitioner),
                ] as [String: Any]
            }
        } else {
            let mine = try await scheduling.appointments(AppointmentFilter(from: from ?? Date(), to: to, limit: 100), by: principal).items
            values["booked"] = appointmentRows(mine, language, back: "/appointments")
        }
        let flash = parameters["done"].map { renderer.text("done_\($0)", language) }
        return render("appointments", title: "appointments_title", request, session: session, values, error: error, flash: flash)
    }

    func freeSlotOptions(_ practitioner: String) async throws -> [[String: String]] {
        try await scheduling.freeSlots(SlotSearch(practitioner: practitioner, limit: 30), tenant: tenant).items.map {
            ["id": $0.id, "when": Self.display($0.start) + " · " + $0.typeLabel]
        }
    }

    func appointmentRows(_ appointments: [AppointmentSummary], _ language: String, back: String) -> [[String: Any]] {
        appointments.map { item in
            [
                "id": item.id, "when": item.start.map { Self.display($0) } ?? renderer.text("no_time_yet", language),
                "requested": Self.display(item.created), "patient": item.patientName ?? "", "patientID": item.patient,
                "physician": item.practitionerName ?? "", "practitioner": item.practitioner, "reason": item.reason ?? "",
                "status": renderer.text("status_\(item.status)", language), "statusCode": item.status, "slot": item.slot ?? "",
                "cancellation": item.cancellationReason ?? "", "cancellable": ["proposed", "booked"].contains(item.status), "back": back,
                "type": item.typeLabel ?? "",
            ]
        }
    }

    // MARK: availability

    func availabilityPage(
        _ request: Request, _ session: WebSession, _ principal: Principal, practitioner chosen: String? = nil, error: String? = nil, flash: String? = nil
    ) async throws -> Response {
        guard [.physician, .secretary].contains(principal.role) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        var practitioner = chosen ?? request.uri.queryParameters["practitioner"].map(String.init).flatMap(Self.optional)
        var physicians: [[String: Any]] = []
        if principal.role == .physician {
            practitioner = principal.practitioner
        } else {
            let ours = try await scheduling.directory(hospital: principal.hospital, specialty: nil, tenant: tenant)
            practitioner = practitioner ?? ours.first?.id
            physicians = ours.map { ["id": $0.id, "name": $0.name, "selected": $0.id == practitioner] }
        }
        guard let practitioner else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let language = WebRenderer.language(request)
        let settings = try await scheduling.availability(of: practitioner, by: principal)
            ?? AvailabilitySettings(appointmentTypes: [.init(code: "consultation", label: renderer.text("consultation", language), minutes: 20)], openingHours: [])
        let type = settings.appointmentTypes.first
        let days = (1...7).map { weekday -> [String: Any] in
            let blocks = settings.openingHours.filter { $0.weekday == weekday }.sorted { $0.start < $1.start }
            return [
                "weekday": weekday, "label": renderer.text("weekday_\(weekday)", language),
                "start1": blocks.first?.start ?? "", "end1": blocks.first?.end ?? "",
                "start2": blocks.dropFirst().first?.start ?? "", "end2": blocks.dropFirst().first?.end ?? "",
            ]
        }
        let absences = settings.absences.enumerated().map { index, absence in
            ["index": String(index), "start": absence.start, "end": absence.end, "reason": absence.reason ?? ""]
        }
        return render(
            "availability", title: "availability_title", request, session: session,
            [
                "practitioner": practitioner, "physicians": physicians, "isSecretary": principal.role == .secretary, "days": days,
                "typeLabel": type?.label ?? "", "minutes": type?.minutes ?? 20, "horizon": settings.horizonDays, "absences": absences,
            ], error: error, flash: flash)
    }

    /// The availability form: one appointment type, up to two blocks a day, absences (kept
    /// unless ticked for removal) and one new absence.
    static func availability(from form: [String: String]) throws -> AvailabilitySettings {
        let label = optional(form["type_label"]) ?? "Consultation"
        guard let minutes = Int(form["minutes"] ?? "") else { throw ServiceError.invalid("Give the length of an appointment in minutes.") }
        var hours: [AvailabilitySettings.OpeningHours] = []
        for weekday in 1...7 {
            for block in 1...2 {
                guard let start = optional(form["d\(weekday)_start\(block)"]), let end = optional(form["d\(weekday)_end\(block)"]) else { continue }
                hours.append(.init(weekday: weekday, start: start, end: end, type: "consultation"))
            }
        }
        var absences: [AvailabilitySettings.Absence] = []
        for index in 0..<100 {
            guard let start = form["absence\(index)_start"], let end = form["absence\(index)_end"] else { break }
            if form["absence\(index)_remove"] == nil { absences.append(.init(start: start, end: end, reason: optional(form["absence\(index)_reason"]))) }
        }
        if let start = optional(form["new_absence_start"]) {
            absences.append(.init(start: start, end: optional(form["new_absence_end"]) ?? start, reason: optional(form["new_absence_reason"])))
        }
        return AvailabilitySettings(
            appointmentTypes: [.init(code: "consultation", label: label, minutes: minutes)], openingHours: hours, absences: absences,
            horizonDays: Int(form["horizon"] ?? "") ?? 28)
    }

    /// An instant as the pages show it: local date and time in Paris.
    static func display(_ instant: String?) -> String {
        FHIRDateTime.localDisplay(instant)
    }
}
