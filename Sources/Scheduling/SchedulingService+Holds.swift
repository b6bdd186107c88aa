import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// The plumbing of the appointment steps: loading, taking and releasing slots, care-team
/// links, notifications, and the one transaction each step commits.
extension SchedulingService {
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
        let dialect = fhir.database.dialect
        do {
            _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(tenant), audit: [record]) { database in
                if let release = holds.release {
                    try await database.raw(
                        "DELETE FROM scheduling_holds WHERE tenant_id = \(bind: tenant.rawValue) AND appointment_id = \(bind: release)"
                    ).run()
                }
                guard let hold = holds.take else { return }
                // One patient's holds are taken one at a time, so that two simultaneous requests
                // for overlapping times see each other (PostgreSQL runs them concurrently under
                // READ COMMITTED; SQLite's single writer already serialises them).
                if dialect == .postgres {
                    try await database.raw(
                        "SELECT pg_advisory_xact_lock(7366913, hashtext(\(bind: tenant.rawValue + "|" + hold.patient)))"
                    ).run()
                }
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
        FHIRDateTime.localDisplay(instant)
    }
}
