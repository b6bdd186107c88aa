import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

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

extension SchedulingService {
    /// A loaded Appointment with the people it names.
    struct LoadedAppointment {
        var stored: StoredResource
        var json: JSON
        var patient: String
        var practitioner: String
        var status: String
        var slot: String?
    }

    /// What a transaction does to the slot holds.
    struct HoldChange: Sendable {
        var release: String?
        var take: NewHold?
    }

    struct NewHold: Sendable {
        var appointment: String
        var slot: String
        var practitioner: String
        var patient: String
        var start: Int64
        var end: Int64
    }

    // MARK: the patient's request

    /// A patient asks a physician of any hospital for an appointment, on a free slot or as a
    /// free-text request. The Appointment is `proposed`, the slot held; no care link exists
    /// until a secretary of the physician's hospital validates it.
    public func request(
        practitioner: String, slot: String?, reason: String?, by principal: Principal
    ) async throws -> AppointmentSummary {
        guard principal.role == .patient, let patient = principal.patient else { throw ServiceError.forbidden }
        guard let physician = try await physician(practitioner, tenant: principal.tenant) else { throw ServiceError.notFound("Physician \(practitioner)") }
        let reason = try Self.text(reason, field: "reason")
        let id = ids.makeID()
        var entries: [JSON] = []
        var hold: NewHold?
        var appointment: JSONObject = [
            "resourceType": "Appointment", "id": .string(id), "status": "proposed", "created": .string(Self.instant(now())),
            "participant": Self.participants(patient: patient, practitioner: physician, practitionerStatus: "needs-action"),
        ]
        if let reason { appointment["description"] = .string(reason) }
        if let slot {
            let taken = try await takeSlot(slot, for: physician, appointment: id, patient: patient, status: "busy-tentative", tenant: principal.tenant)
            entries.append(taken.entry)
            hold = taken.hold
            Self.place(&appointment, on: taken)
        } else {
            guard reason != nil else { throw ServiceError.invalid("Choose a free slot, or say what the appointment is for in \"reason\".") }
        }
        entries.insert(HygieResources.put(.object(appointment)), at: 0)
        let when = appointment["start"]?.stringValue.map { " (\(Self.display($0)))" } ?? ""
        entries += notices(
            about: id, patient: patient, practitioner: physician.id, by: principal, code: "appointment-requested",
            patientText: "Votre demande de rendez-vous avec \(physician.name)\(when) est envoyée ; le secrétariat la validera.",
            practitionerText: "Nouvelle demande de rendez-vous\(when), en attente de validation par le secrétariat.")
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("create"), action: .create, entities: ["Appointment/\(id)"], patients: [patient],
            detail: "appointment requested")
        try await commit(entries, record: record, tenant: principal.tenant, holds: HoldChange(release: nil, take: hold))
        logger.info("appointment requested", metadata: ["appointment": "\(id)", "practitioner": "\(practitioner)"])
        return try await summary(id, tenant: principal.tenant)
    }

    // MARK: the secretary's decisions

    /// A secretary of the physician's hospital accepts a request: the Appointment is booked
    /// (on the requested slot, or on `slot` for a free-text request) and the patient joins the
    /// physician's care team, which opens the record to them.
    public func validate(_ id: String, slot: String? = nil, by principal: Principal) async throws -> AppointmentSummary {
        let (loaded, physician) = try await forSecretary(id, by: principal)
        guard loaded.status == "proposed" else { throw Self.notPending(loaded.status) }
        var appointment = try Self.object(loaded.json)
        var entries: [JSON] = []
        var hold: NewHold?
        if let current = loaded.slot {
            if let slot, slot != current { throw ServiceError.invalid("This request already holds a slot; reschedule it after validation to move it.") }
            entries.append(try await slotEntry(current, status: "busy", tenant: principal.tenant))
        } else {
            guard let slot else { throw ServiceError(422, "slot-required", "This request names no time: choose a free slot of the physician to book it.") }
            let taken = try await takeSlot(slot, for: physician, appointment: id, patient: loaded.patient, status: "busy", tenant: principal.tenant)
            entries.append(taken.entry)
            hold = taken.hold
            Self.place(&appointment, on: taken)
        }
        appointment["status"] = "booked"
        appointment["participant"] = Self.participants(patient: loaded.patient, practitioner: physician, practitionerStatus: "accepted")
        entries.insert(HygieResources.put(.object(appointment), ifMatch: loaded.stored.version), at: 0)
        let link = try await careTeamEntry(patient: loaded.patient, practitioner: physician.id, tenant: principal.tenant)
        entries += link.map { [$0] } ?? []
        let names = try await fhir.displayNames("Patient", ids: [loaded.patient], tenant: principal.tenant)
        let when = Self.display(appointment["start"]?.stringValue)
        entries += notices(
            about: id, patient: loaded.patient, practitioner: physician.id, by: principal, code: "appointment-booked",
            patientText: "Votre rendez-vous avec \(physician.name) est confirmé : \(when).",
            practitionerText: "Rendez-vous confirmé avec \(names[loaded.patient] ?? "un patient") : \(when).")
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update, entities: ["Appointment/\(id)"], patients: [loaded.patient],
            detail: link == nil ? "appointment validated" : "appointment validated; care link created")
        try await commit(entries, record: record, tenant: principal.tenant, holds: HoldChange(release: nil, take: hold))
        logger.info("appointment validated", metadata: ["appointment": "\(id)", "by": "\(principal.account)"])
        return try await summary(id, tenant: principal.tenant)
    }

    /// A secretary declines a request with a reason: cancelled, slot freed, no link.
    public func decline(_ id: String, reason: String?, by principal: Principal) async throws -> AppointmentSummary {
        let (loaded, physician) = try await forSecretary(id, by: principal)
        guard loaded.status == "proposed" else { throw Self.notPending(loaded.status) }
        guard let reason = try Self.text(reason, field: "reason") else { throw ServiceError.invalid("Say why the request is declined (\"reason\").") }
        return try await cancel(loaded, physician: physician, reason: reason, code: "appointment-declined", by: principal)
    }

    /// Cancels a request or a booked appointment: the patient their own, a secretary those of
    /// her hospital's physicians.
    public func cancel(_ id: String, reason: String?, by principal: Principal) async throws -> AppointmentSummary {
        let reason = try Self.text(reason, field: "reason")
        let loaded: LoadedAppointment
        let physician: Physician
        switch principal.role {
        case .patient:
            guard let found = try await load(id, tenant: principal.tenant), found.patient == principal.patient else {
                throw ServiceError.notFound("Appointment \(id)")
            }
            loaded = found
            guard let known = try await self.physician(found.practitioner, tenant: principal.tenant) else { throw ServiceError.notFound("Physician") }
            physician = known
        case .secretary:
            (loaded, physician) = try await forSecretary(id, by: principal)
        default:
            throw ServiceError.forbidden
        }
        guard ["proposed", "booked", "pending", "waitlist"].contains(loaded.status) else {
            throw ServiceError(409, "not-cancellable", "This appointment is \(loaded.status): it can no longer be cancelled.")
        }
        if let start = Self.millis(loaded.json["start"]?.stringValue), start < Self.millis(now()), loaded.status == "booked" {
            throw ServiceError(409, "not-cancellable", "This appointment has already started.")
        }
        return try await cancel(loaded, physician: physician, reason: reason, code: "appointment-cancelled", by: principal)
    }

    func cancel(_ loaded: LoadedAppointment, physician: Physician, reason: String?, code: String, by principal: Principal) async throws -> AppointmentSummary {
        var appointment = try Self.object(loaded.json)
        appointment["status"] = "cancelled"
        if let reason { appointment["cancelationReason"] = ["text": .string(reason)] }
        var entries = [HygieResources.put(.object(appointment), ifMatch: loaded.stored.version)]
        if let slot = loaded.slot { entries.append(try await releasedSlotEntry(slot, practitioner: physician.id, tenant: principal.tenant)) }
        let when = loaded.json["start"]?.stringValue.map { " (\(Self.display($0)))" } ?? ""
        let why = reason.map { " Motif : \($0)" } ?? ""
        let declined = code == "appointment-declined"
        entries += notices(
            about: loaded.stored.id, patient: loaded.patient, practitioner: physician.id, by: principal, code: code,
            patientText: declined
                ? "Votre demande de rendez-vous avec \(physician.name)\(when) n'a pas été acceptée.\(why)"
                : "Votre rendez-vous avec \(physician.name)\(when) est annulé.\(why)",
            practitionerText: declined ? "Une demande de rendez-vous\(when) a été refusée par le secrétariat." : "Un rendez-vous\(when) est annulé.")
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update, entities: ["Appointment/\(loaded.stored.id)"],
            patients: [loaded.patient], detail: declined ? "appointment declined" : "appointment cancelled")
        try await commit(entries, record: record, tenant: principal.tenant, holds: HoldChange(release: loaded.stored.id, take: nil))
        logger.info("appointment cancelled", metadata: ["appointment": "\(loaded.stored.id)", "by": "\(principal.account)"])
        return try await summary(loaded.stored.id, tenant: principal.tenant)
    }

    /// A secretary books directly, on a free slot of a physician of her hospital, for a patient
    /// already linked to her hospital. The patient joins that physician's care team.
    public func book(patient: String, slot: String, reason: String?, by principal: Principal) async throws -> AppointmentSummary {
        guard principal.role == .secretary else { throw ServiceError.forbidden }
        // The patient must be one she sees: linked to a physician of her hospital.
        guard PrimitiveType.isValidID(patient), (try? await fhir.read("Patient", patient, as: Policy.caller(principal))) != nil else {
            throw ServiceError.notFound("Patient \(patient)")
        }
        guard let owner = try await slotOwner(slot, tenant: principal.tenant), let physician = try await physician(owner, tenant: principal.tenant) else {
            throw ServiceError.notFound("Slot \(slot)")
        }
        try requireSameHospital(principal, as: physician)
        let reason = try Self.text(reason, field: "reason")
        let id = ids.makeID()
        let taken = try await takeSlot(slot, for: physician, appointment: id, patient: patient, status: "busy", tenant: principal.tenant)
        var appointment: JSONObject = [
            "resourceType": "Appointment", "id": .string(id), "status": "booked", "created": .string(Self.instant(now())),
            "participant": Self.participants(patient: patient, practitioner: physician, practitionerStatus: "accepted"),
        ]
        if let reason { appointment["description"] = .string(reason) }
        Self.place(&appointment, on: taken)
        var entries = [HygieResources.put(.object(appointment)), taken.entry]
        let link = try await careTeamEntry(patient: patient, practitioner: physician.id, tenant: principal.tenant)
        entries += link.map { [$0] } ?? []
        let names = try await fhir.displayNames("Patient", ids: [patient], tenant: principal.tenant)
        let when = Self.display(appointment["start"]?.stringValue)
        entries += notices(
            about: id, patient: patient, practitioner: physician.id, by: principal, code: "appointment-booked",
            patientText: "Un rendez-vous avec \(physician.name) est réservé pour vous : \(when).",
            practitionerText: "Rendez-vous réservé avec \(names[patient] ?? "un patient") : \(when).")
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("create"), action: .create, entities: ["Appointment/\(id)"], patients: [patient],
            detail: "appointment booked by the secretariat")
        try await commit(entries, record: record, tenant: principal.tenant, holds: HoldChange(release: nil, take: taken.hold))
        return try await summary(id, tenant: principal.tenant)
    }

    /// A secretary moves a request or an appointment to another free slot of the same physician.
    public func reschedule(_ id: String, slot: String, by principal: Principal) async throws -> AppointmentSummary {
        let (loaded, physician) = try await forSecretary(id, by: principal)
        guard ["proposed", "booked"].contains(loaded.status) else {
            throw ServiceError(409, "not-reschedulable", "This appointment is \(loaded.status): it can no longer be moved.")
        }
        guard slot != loaded.slot else { throw ServiceError.invalid("The appointment is already on this slot.") }
        let status = loaded.status == "booked" ? "busy" : "busy-tentative"
        let taken = try await takeSlot(slot, for: physician, appointment: id, patient: loaded.patient, status: status, tenant: principal.tenant)
        var appointment = try Self.object(loaded.json)
        Self.place(&appointment, on: taken)
        var entries = [HygieResources.put(.object(appointment), ifMatch: loaded.stored.version), taken.entry]
        if let old = loaded.slot { entries.append(try await releasedSlotEntry(old, practitioner: physician.id, tenant: principal.tenant)) }
        let when = Self.display(appointment["start"]?.stringValue)
        entries += notices(
            about: id, patient: loaded.patient, practitioner: physician.id, by: principal, code: "appointment-rescheduled",
            patientText: "Votre rendez-vous avec \(physician.name) est déplacé : \(when).",
            practitionerText: loaded.status == "booked" ? "Un rendez-vous est déplacé : \(when)." : "Une demande de rendez-vous est déplacée : \(when).")
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update, entities: ["Appointment/\(id)", "Slot/\(slot)"],
            patients: [loaded.patient], detail: "appointment rescheduled")
        try await commit(entries, record: record, tenant: principal.tenant, holds: HoldChange(release: id, take: taken.hold))
        return try await summary(id, tenant: principal.tenant)
    }

    // MARK: reading

    /// One appointment, if the principal may see it.
    public func appointment(_ id: String, by principal: Principal) async throws -> AppointmentSummary {
        guard let loaded = try await load(id, tenant: principal.tenant), try await maySee(loaded, principal) else {
            throw ServiceError.notFound("Appointment \(id)")
        }
        try await fhir.record(
            AuditRecord(agent: principal.auditAgent, kind: .rest("read"), action: .read, entities: ["Appointment/\(id)"], patients: [loaded.patient]),
            tenant: principal.tenant)
        return try await summaries([loaded], tenant: principal.tenant)[0]
    }

    func maySee(_ loaded: LoadedAppointment, _ principal: Principal) async throws -> Bool {
        switch principal.role {
        case .patient: return loaded.patient == principal.patient
        // Before a secretary validates it, the physician sees nothing of the request.
        case .physician: return loaded.practitioner == principal.practitioner && loaded.status != "proposed"
        case .secretary:
            guard let physician = try await physician(loaded.practitioner, tenant: principal.tenant) else { return false }
            return physician.hospital != nil && physician.hospital == principal.hospital
        default: return false
        }
    }

    /// Appointments the principal may list: a patient their own; a physician theirs (not the
    /// requests still pending); a secretary those of her hospital's physicians. Pending
    /// requests come oldest first; others by date.
    public func appointments(_ filter: AppointmentFilter, by principal: Principal) async throws -> Page<AppointmentSummary> {
        guard (1...100).contains(filter.limit) else { throw ServiceError.invalid("limit is between 1 and 100.") }
        for status in filter.statuses where !AppointmentFilter.statusCodes.contains(status) {
            throw ServiceError.invalid("Unknown appointment status \(status).")
        }
        var statuses = filter.statuses
        var parameters: [(String, String)] = []
        switch principal.role {
        case .patient:
            guard let patient = principal.patient else { throw ServiceError.forbidden }
            parameters.append(("patient", "Patient/\(patient)"))
            if let practitioner = filter.practitioner { parameters.append(("practitioner", "Practitioner/\(practitioner)")) }
        case .physician:
            guard let practitioner = principal.practitioner else { throw ServiceError.forbidden }
            parameters.append(("practitioner", "Practitioner/\(practitioner)"))
            if statuses.isEmpty { statuses = AppointmentFilter.statusCodes.subtracting(["proposed"]).sorted() }
            statuses.removeAll { $0 == "proposed" }
            if statuses.isEmpty { return Page(items: [], next: nil) }
            if let patient = filter.patient { parameters.append(("patient", "Patient/\(patient)")) }
        case .secretary:
            guard let hospital = principal.hospital else { throw ServiceError.forbidden }
            var ours = try await physicians(hospital: hospital, tenant: principal.tenant).map(\.id)
            if let practitioner = filter.practitioner { ours = ours.filter { $0 == practitioner } }
            guard !ours.isEmpty else { return Page(items: [], next: nil) }
            parameters.append(("practitioner", ours.map { "Practitioner/\($0)" }.joined(separator: ",")))
            if let patient = filter.patient { parameters.append(("patient", "Patient/\(patient)")) }
        default:
            throw ServiceError.forbidden
        }
        if !statuses.isEmpty { parameters.append(("status", statuses.joined(separator: ","))) }
        if let from = filter.from { parameters.append(("date", "ge\(Self.instant(from))")) }
        if let to = filter.to { parameters.append(("date", "lt\(Self.instant(to))")) }
        parameters.append(("_sort", statuses == ["proposed"] ? "_lastUpdated" : "date"))
        parameters.append(("_count", String(filter.limit)))
        var query = try SearchQuery.parse(resourceType: "Appointment", parameters: parameters)
        query.total = TotalMode.none
        query.cursor = filter.cursor
        let result = try await fhir.search(query, as: .system(principal.tenant))
        let loaded = try result.matches.map { try Self.loaded($0) }
        let patients = Array(Set(loaded.map(\.patient))).sorted()
        try await fhir.record(
            AuditRecord(
                agent: principal.auditAgent, kind: .rest("search-type"), action: .execute, entities: loaded.map { "Appointment/\($0.stored.id)" },
                patients: patients, query: QueryString.encode(parameters)),
            tenant: principal.tenant)
        return Page(items: try await summaries(loaded, tenant: principal.tenant), next: result.nextCursor)
    }

    // MARK: plumbing

    func load(_ id: String, tenant: TenantID) async throws -> LoadedAppointment? {
        guard PrimitiveType.isValidID(id), let stored = try? await fhir.read("Appointment", id, as: .system(tenant)) else { return nil }
        return try Self.loaded(stored)
    }

    static func loaded(_ stored: StoredResource) throws -> LoadedAppointment {
        let json = try stored.json()
        var patient = ""
        var practitioner = ""
        for participant in json["participant"]?.arrayValue ?? [] {
            let reference = participant["actor"]?["reference"]?.stringValue
            if let id = id(of: reference, type: "Patient") { patient = id }
            if let id = id(of: reference, type: "Practitioner") { practitioner = id }
        }
        return LoadedAppointment(
            stored: stored, json: json, patient: patient, practitioner: practitioner, status: json["status"]?.stringValue ?? "",
            slot: id(of: json["slot"]?.arrayValue?.first?["reference"]?.stringValue, type: "Slot"))
    }

    /// The appointment, for a secretary of its physician's hospital (404 for anyone else:
    /// another hospital's requests are not disclosed).
    func forSecretary(_ id: String, by principal: Principal) async throws -> (LoadedAppointment, Physician) {
        guard principal.role == .secretary else { throw ServiceError.forbidden }
        guard let loaded = try await load(id, tenant: principal.tenant), let physician = try await physician(loaded.practitioner, tenant: principal.tenant),
            physician.hospital != nil, physician.hospital == principal.hospital
        else { throw ServiceError.notFound("Appointment \(id)") }
        return (loaded, physician)
    }

    func summary(_ id: String, tenant: TenantID) async throws -> AppointmentSummary {
        guard let loaded = try await load(id, tenant: tenant) else { throw ServiceError.notFound("Appointment \(id)") }
        return try await summaries([loaded], tenant: tenant)[0]
    }

    func summaries(_ loaded: [LoadedAppointment], tenant: TenantID) async throws -> [AppointmentSummary] {
        let patients = try await fhir.displayNames("Patient", ids: loaded.map(\.patient), tenant: tenant)
        let practitioners = try await fhir.displayNames("Practitioner", ids: loaded.map(\.practitioner), tenant: tenant)
        var hospitals: [String: String?] = [:]
        for practitioner in Set(loaded.map(\.practitioner)) {
            hospitals[practitioner] = try await physician(practitioner, tenant: tenant)?.hospital
        }
        return loaded.map { item in
            let json = item.json
            let type = json["appointmentType"]
            return AppointmentSummary(
                id: item.stored.id, version: item.stored.version, status: item.status, patient: item.patient, patientName: patients[item.patient],
                practitioner: item.practitioner, practitionerName: practitioners[item.practitioner], hospital: hospitals[item.practitioner] ?? nil,
                start: json["start"]?.stringValue, end: json["end"]?.stringValue, type: type?["coding"]?.arrayValue?.first?["code"]?.stringValue,
                typeLabel: type?["text"]?.stringValue, reason: json["description"]?.stringValue,
                cancellationReason: json["cancelationReason"]?["text"]?.stringValue, slot: item.slot, created: json["created"]?.stringValue)
        }
    }

    /// A slot taken for an appointment: the Slot entry to write, the hold to insert, and
    /// the times and type to copy into the Appointment.
    struct TakenSlot {
        var entry: JSON
        var hold: NewHold
        var slot: String
        var start: String
        var end: String
        var type: JSON?
        var minutes: Int
    }

    /// Checks that `slot` is a free slot of `physician` in the future and prepares taking it.
    /// The hold's unique index decides between concurrent takers, inside the transaction.
    func takeSlot(_ slot: String, for physician: Physician, appointment: String, patient: String, status: String, tenant: TenantID) async throws -> TakenSlot {
        guard PrimitiveType.isValidID(slot), let stored = try? await fhir.read("Slot", slot, as: .system(tenant)), case .object(var json) = try stored.json(),
            let schedule = Self.id(of: json["schedule"]?["reference"]?.stringValue, type: "Schedule")
        else { throw ServiceError.notFound("Slot \(slot)") }
        let availability = try await storedAvailability([physician.id], tenant: tenant)[physician.id]
        guard let availability, availability.schedule == schedule else {
            throw ServiceError.invalid("Slot \(slot) is not one of \(physician.name)'s slots.")
        }
        guard let start = Self.millis(json["start"]?.stringValue), let end = Self.millis(json["end"]?.stringValue) else { throw ServiceError.notFound("Slot \(slot)") }
        guard start > Self.millis(now()) else { throw ServiceError(409, "slot-past", "This slot has already begun: choose a later one.") }
        let day = availability.settings.localDay(Date(timeIntervalSince1970: TimeInterval(start) / 1000))
        if json["status"]?.stringValue == "busy-unavailable" || availability.settings.isAbsent(on: day) { throw ServiceError.physicianAbsent }
        guard json["status"]?.stringValue == "free" else { throw ServiceError.slotTaken }
        json["status"] = .string(status)
        return TakenSlot(
            entry: HygieResources.put(.object(json)),
            hold: NewHold(appointment: appointment, slot: slot, practitioner: physician.id, patient: patient, start: start, end: end),
            slot: slot, start: json["start"]?.stringValue ?? "", end: json["end"]?.stringValue ?? "", type: json["appointmentType"],
            minutes: Int((end - start) / 60_000))
    }

    static func place(_ appointment: inout JSONObject, on taken: TakenSlot) {
        appointment["slot"] = [["reference": .string("Slot/\(taken.slot)")]]
        appointment["start"] = .string(taken.start)
        appointment["end"] = .string(taken.end)
        appointment["minutesDuration"] = .number(JSONNumber(taken.minutes))
        if let type = taken.type { appointment["appointmentType"] = type }
    }

    func slotOwner(_ slot: String, tenant: TenantID) async throws -> String? {
        guard PrimitiveType.isValidID(slot), let stored = try? await fhir.read("Slot", slot, as: .system(tenant)),
            let schedule = Self.id(of: try stored.json()["schedule"]?["reference"]?.stringValue, type: "Schedule")
        else { return nil }
        let row = try await fhir.database.read { database in
            try await database.raw(
                "SELECT practitioner_id FROM scheduling_availability WHERE tenant_id = \(bind: tenant.rawValue) AND schedule_id = \(bind: schedule)"
            ).first()
        }
        return try row?.decode(column: "practitioner_id", as: String.self)
    }

    func slotEntry(_ slot: String, status: String, tenant: TenantID) async throws -> JSON {
        guard case .object(var json) = try await fhir.read("Slot", slot, as: .system(tenant)).json() else { throw ServiceError.notFound("Slot \(slot)") }
        json["status"] = .string(status)
        return HygieResources.put(.object(json))
    }

    /// The slot back to free, or busy-unavailable when it now falls in an absence.
    func releasedSlotEntry(_ slot: String, practitioner: String, tenant: TenantID) async throws -> JSON {
        guard case .object(let json) = try await fhir.read("Slot", slot, as: .system(tenant)).json() else { throw ServiceError.notFound("Slot \(slot)") }
        let settings = try await storedAvailability([practitioner], tenant: tenant)[practitioner]?.settings
        let start = Self.millis(json["start"]?.stringValue) ?? 0
        let absent = settings.map { $0.isAbsent(on: $0.localDay(Date(timeIntervalSince1970: TimeInterval(start) / 1000))) } ?? false
        return try await slotEntry(slot, status: absent ? "busy-unavailable" : "free", tenant: tenant)
    }

    /// Adds the physician to the patient's active care team (creating one if needed); nil when
    /// they are already linked.
    func careTeamEntry(patient: String, practitioner: String, tenant: TenantID) async throws -> JSON? {
        let teams = try await fhir.searchAll("CareTeam", [("subject", "Patient/\(patient)"), ("status", "active")], tenant: tenant)
        let member = "Practitioner/\(practitioner)"
        var first: (StoredResource, JSONObject)?
        for team in teams {
            guard case .object(let json) = try team.json() else { continue }
            if json["participant"]?.arrayValue?.contains(where: { $0["member"]?["reference"]?.stringValue == member }) == true { return nil }
            if first == nil { first = (team, json) }
        }
        let joined: JSON = ["member": ["reference": .string(member)], "period": ["start": .string(Self.instant(now()))]]
        guard let (stored, jsonObject) = first else {
            return HygieResources.put([
                "resourceType": "CareTeam", "id": .string(ids.makeID()), "status": "active",
                "subject": ["reference": .string("Patient/\(patient)")], "participant": [joined],
            ])
        }
        var json = jsonObject
        json["participant"] = .array((json["participant"]?.arrayValue ?? []) + [joined])
        return HygieResources.put(.object(json), ifMatch: stored.version)
    }

    /// The in-app notifications of a step, to the patient and to the physician.
    func notices(
        about appointment: String, patient: String, practitioner: String, by principal: Principal, code: String, patientText: String,
        practitionerText: String
    ) -> [JSON] {
        let sent = Self.instant(now())
        return [
            HygieResources.put(
                HygieResources.notification(
                    id: ids.makeID(), patient: patient, recipients: ["Patient/\(patient)"], sender: principal.reference, sent: sent, code: code,
                    text: patientText, about: "Appointment/\(appointment)")),
            HygieResources.put(
                HygieResources.notification(
                    id: ids.makeID(), patient: nil, recipients: ["Practitioner/\(practitioner)"], sender: principal.reference, sent: sent, code: code,
                    text: practitionerText, about: "Appointment/\(appointment)")),
        ]
    }

    /// Writes the entries, the hold change and the audit record in one transaction.
    func commit(_ entries: [JSON], record: AuditRecord, tenant: TenantID, holds: HoldChange) async throws {
        do {
            _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(tenant), audit: [record]) { database in
                if let release = holds.release {
                    try await database.raw(
                        "DELETE FROM scheduling_holds WHERE tenant_id = \(bind: tenant.rawValue) AND appointment_id = \(bind: release)"
                    ).run()
                }
                guard let hold = holds.take else { return }
                // Concurrent takers of one slot: the unique index lets one row in; the others
                // find someone else's row and give up (PostgreSQL makes them wait for the
                // winner's commit first).
                try await database.raw(
                    """
                    INSERT INTO scheduling_holds (tenant_id, appointment_id, slot_id, practitioner_id, patient_id, starts_at, ends_at)
                    VALUES (\(bind: tenant.rawValue), \(bind: hold.appointment), \(bind: hold.slot), \(bind: hold.practitioner), \(bind: hold.patient),
                        \(bind: hold.start), \(bind: hold.end))
                    ON CONFLICT DO NOTHING
                    """
                ).run()
                let owner = try await database.raw(
                    "SELECT appointment_id FROM scheduling_holds WHERE tenant_id = \(bind: tenant.rawValue) AND slot_id = \(bind: hold.slot)"
                ).first()?.decode(column: "appointment_id", as: String.self)
                guard owner == hold.appointment else { throw ServiceError.slotTaken }
                let overlapping = try await database.raw(
                    """
                    SELECT appointment_id FROM scheduling_holds WHERE tenant_id = \(bind: tenant.rawValue) AND patient_id = \(bind: hold.patient)
                    AND appointment_id <> \(bind: hold.appointment) AND starts_at < \(bind: hold.end) AND ends_at > \(bind: hold.start)
                    """
                ).first()
                if overlapping != nil { throw ServiceError.patientBusy }
            }
        } catch let error as FHIRError where error.status == 412 || error.status == 409 {
            throw ServiceError(409, "changed-meanwhile", "Someone changed this appointment at the same time: reload and try again.")
        }
    }

    static func participants(patient: String, practitioner: Physician, practitionerStatus: String) -> JSON {
        [
            ["actor": ["reference": .string("Patient/\(patient)")], "required": "required", "status": "accepted"],
            [
                "actor": ["reference": .string("Practitioner/\(practitioner.id)"), "display": .string(practitioner.name)], "required": "required",
                "status": .string(practitionerStatus),
            ],
        ]
    }

    static func object(_ json: JSON) throws -> JSONObject {
        guard case .object(let object) = json else { throw ServiceError.notFound("Appointment") }
        var copy = object
        copy.removeValue(forKey: "meta")
        return copy
    }

    static func notPending(_ status: String) -> ServiceError {
        ServiceError(409, "not-pending", "This request is no longer pending (it is \(status)).")
    }

    /// Optional free text: trimmed, at most 1 000 characters; nil when empty.
    static func text(_ value: String?, field: String) throws -> String? {
        guard let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        guard trimmed.count <= 1000 else { throw ServiceError.invalid("\"\(field)\" has at most 1000 characters.") }
        return trimmed
    }

    /// A start instant as the notifications say it: local date and time in Paris.
    static func display(_ instant: String?) -> String {
        guard let millis = millis(instant) else { return "" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris") ?? .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: Date(timeIntervalSince1970: TimeInterval(millis) / 1000))
        return String(format: "%02d/%02d/%04d %02d:%02d", parts.day ?? 0, parts.month ?? 0, parts.year ?? 0, parts.hour ?? 0, parts.minute ?? 0)
    }
}
