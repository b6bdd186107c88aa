import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

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
}
