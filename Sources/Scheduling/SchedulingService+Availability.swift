import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// A free slot, as the availability search answers it.
public struct FreeSlot: Sendable, Equatable {
    public var id: String
    public var practitioner: String
    public var practitionerName: String
    public var hospital: String?
    public var specialties: [String]
    public var start: String
    public var end: String
    public var type: String
    public var typeLabel: String
}

/// What the availability search filters on.
public struct SlotSearch: Sendable {
    public var practitioner: String?
    public var hospital: String?
    public var specialty: String?
    public var type: String?
    public var from: Date?
    public var to: Date?
    public var limit: Int
    public var cursor: String?

    public init(
        practitioner: String? = nil, hospital: String? = nil, specialty: String? = nil, type: String? = nil, from: Date? = nil, to: Date? = nil,
        limit: Int = 20, cursor: String? = nil
    ) {
        self.practitioner = practitioner
        self.hospital = hospital
        self.specialty = specialty
        self.type = type
        self.from = from
        self.to = to
        self.limit = limit
        self.cursor = cursor
    }
}

struct StoredAvailability: Sendable {
    var practitioner: String
    var schedule: String
    var settings: AvailabilitySettings
    var generatedUntil: Int64
}

extension SchedulingService {
    // MARK: publishing

    /// The physician's settings, if they have published any.
    public func availability(of practitioner: String, by principal: Principal) async throws -> AvailabilitySettings? {
        _ = try await schedulablePhysician(practitioner, by: principal)
        return try await storedAvailability([practitioner], tenant: principal.tenant)[practitioner]?.settings
    }

    /// Saves a physician's opening hours, appointment types and absences and publishes their
    /// slots: the physician themselves or a secretary of their hospital. Returns the number of
    /// bookable slots now published.
    @discardableResult
    public func saveAvailability(_ settings: AvailabilitySettings, for practitioner: String, by principal: Principal) async throws -> Int {
        let physician = try await schedulablePhysician(practitioner, by: principal)
        try settings.validate()
        let existing = try await storedAvailability([practitioner], tenant: principal.tenant)[practitioner]
        let published = try await publish(
            settings, physician: physician, schedule: existing?.schedule ?? ids.makeID(), tenant: principal.tenant, agent: principal.auditAgent)
        logger.info("availability published", metadata: ["practitioner": "\(practitioner)", "slots": "\(published)", "by": "\(principal.account)"])
        return published
    }

    /// Who may publish a physician's availability: the physician, or a secretary of their hospital.
    func schedulablePhysician(_ practitioner: String, by principal: Principal) async throws -> Physician {
        guard let physician = try await physician(practitioner, tenant: principal.tenant) else { throw ServiceError.notFound("Physician \(practitioner)") }
        switch principal.role {
        case .physician: guard principal.practitioner == physician.id else { throw ServiceError.forbidden }
        case .secretary: try requireSameHospital(principal, as: physician)
        default: throw ServiceError.forbidden
        }
        return physician
    }

    /// Keeps every physician's slots published `horizonDays` ahead as days pass (run hourly).
    public func extendHorizons(tenant: TenantID) async throws {
        let stored = try await storedAvailability(nil, tenant: tenant)
        let dayMillis: Int64 = 86_400_000
        for availability in stored.values where availability.generatedUntil - Self.millis(now()) < Int64(availability.settings.horizonDays - 1) * dayMillis {
            guard let physician = try await physician(availability.practitioner, tenant: tenant) else { continue }
            _ = try await publish(availability.settings, physician: physician, schedule: availability.schedule, tenant: tenant, agent: nil)
        }
    }

    func storedAvailability(_ practitioners: [String]?, tenant: TenantID) async throws -> [String: StoredAvailability] {
        if let practitioners, practitioners.isEmpty { return [:] }
        let rows = try await fhir.database.read { database in
            var query: SQLQueryString =
                "SELECT practitioner_id, schedule_id, settings, generated_until FROM scheduling_availability WHERE tenant_id = \(bind: tenant.rawValue)"
            if let practitioners { query += " AND practitioner_id IN (\(binds: practitioners))" }
            return try await database.raw(query).all()
        }
        var found: [String: StoredAvailability] = [:]
        for row in rows {
            let practitioner = try row.decode(column: "practitioner_id", as: String.self)
            let settings = try JSONDecoder().decode(AvailabilitySettings.self, from: Data(try row.decode(column: "settings", as: String.self).utf8))
            found[practitioner] = StoredAvailability(
                practitioner: practitioner, schedule: try row.decode(column: "schedule_id", as: String.self), settings: settings,
                generatedUntil: try row.decode(column: "generated_until", as: Int64.self))
        }
        return found
    }

    struct Hold: Sendable {
        var appointment: String
        var slot: String
        var start: Int64
        var end: Int64
    }

    func holds(practitioner: String, after: Int64, tenant: TenantID) async throws -> [Hold] {
        try await fhir.database.read { database in
            try await database.raw(
                """
                SELECT appointment_id, slot_id, starts_at, ends_at FROM scheduling_holds
                WHERE tenant_id = \(bind: tenant.rawValue) AND practitioner_id = \(bind: practitioner) AND ends_at > \(bind: after)
                """
            ).all().map { row in
                Hold(
                    appointment: try row.decode(column: "appointment_id", as: String.self), slot: try row.decode(column: "slot_id", as: String.self),
                    start: try row.decode(column: "starts_at", as: Int64.self), end: try row.decode(column: "ends_at", as: Int64.self))
            }
        }
    }

    /// Writes the Schedule and brings its future Slots in line with `settings` in one
    /// transaction: matching slots stay, others are created, changed or deleted; held slots
    /// are never touched and nothing is planned over them.
    func publish(_ settings: AvailabilitySettings, physician: Physician, schedule: String, tenant: TenantID, agent: AuditAgent?) async throws -> Int {
        let now = now()
        let nowMillis = Self.millis(now)
        let holds = try await holds(practitioner: physician.id, after: nowMillis, tenant: tenant)
        for hold in holds {
            let day = settings.localDay(Date(timeIntervalSince1970: TimeInterval(hold.start) / 1000))
            if settings.isAbsent(on: day) {
                throw ServiceError(
                    409, "booked-during-absence", "An appointment is booked on \(day), inside the absence: reschedule or cancel it first.")
            }
        }
        let planned = try settings.slots(from: now)
        let existing = try await fhir.searchAll("Slot", [("schedule", "Schedule/\(schedule)"), ("start", "ge\(Self.instant(nowMillis))")], tenant: tenant)
        var byKey: [String: (id: String, status: String)] = [:]
        for slot in existing {
            let json = try slot.json()
            let key = "\(Self.millis(json["start"]?.stringValue) ?? 0)|\(Self.millis(json["end"]?.stringValue) ?? 0)|"
                + (json["appointmentType"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? "")
            byKey[key] = (slot.id, json["status"]?.stringValue ?? "")
        }
        let held = Set(holds.map(\.slot))
        var kept = Set<String>()
        var entries: [JSON] = []
        var bookable = 0
        for slot in planned {
            let start = Self.millis(slot.start)
            let end = Self.millis(slot.end)
            if holds.contains(where: { $0.start < end && $0.end > start }) { continue }
            let status = slot.absent ? "busy-unavailable" : "free"
            if !slot.absent { bookable += 1 }
            if let current = byKey["\(start)|\(end)|\(slot.type)"], !kept.contains(current.id) {
                kept.insert(current.id)
                if current.status != status {
                    entries.append(HygieResources.put(slotResource(id: current.id, schedule: schedule, start: start, end: end, type: slot.type, settings: settings, status: status)))
                }
            } else {
                entries.append(HygieResources.put(slotResource(id: ids.makeID(), schedule: schedule, start: start, end: end, type: slot.type, settings: settings, status: status)))
            }
        }
        // Slots no longer planned go, except those an appointment still names (a cancelled
        // one keeps its history): those are withdrawn as entered-in-error.
        let withdrawn = existing.filter { !kept.contains($0.id) && !held.contains($0.id) }
        var named = Set<String>()
        for chunk in withdrawn.chunks(of: 100) {
            let slots = chunk.map { "Slot/\($0.id)" }
            for appointment in try await fhir.searchAll("Appointment", [("slot", slots.joined(separator: ","))], tenant: tenant) {
                for reference in try appointment.json()["slot"]?.arrayValue ?? [] {
                    if let id = Self.id(of: reference["reference"]?.stringValue, type: "Slot") { named.insert(id) }
                }
            }
        }
        for slot in withdrawn {
            if !named.contains(slot.id) {
                entries.append(HygieResources.delete("Slot/\(slot.id)"))
            } else if case .object(var json) = try slot.json(), json["status"]?.stringValue != "entered-in-error" {
                json["status"] = "entered-in-error"
                json.removeValue(forKey: "meta")
                entries.append(HygieResources.put(.object(json)))
            }
        }
        let until = nowMillis + Int64(settings.horizonDays) * 86_400_000
        var scheduleResource: JSONObject = [
            "resourceType": "Schedule", "id": .string(schedule), "active": true,
            "actor": [["reference": .string("Practitioner/\(physician.id)"), "display": .string(physician.name)]],
            "planningHorizon": ["start": .string(Self.instant(nowMillis)), "end": .string(Self.instant(until))],
        ]
        if !physician.specialties.isEmpty {
            scheduleResource["specialty"] = .array(physician.specialties.map { ["coding": [["system": .string(Specialty.codeSystem), "code": .string($0)]]] })
        }
        entries.insert(HygieResources.put(.object(scheduleResource)), at: 0)
        let records = agent.map {
            [AuditRecord(agent: $0, kind: .rest("update"), action: .update, entities: ["Schedule/\(schedule)"], detail: "availability published")]
        } ?? []
        let encoded = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        let practitioner = physician.id
        _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(tenant), audit: records) { database in
            try await database.raw(
                """
                INSERT INTO scheduling_availability (tenant_id, practitioner_id, schedule_id, settings, generated_until, updated_at)
                VALUES (\(bind: tenant.rawValue), \(bind: practitioner), \(bind: schedule), \(bind: encoded), \(bind: until), \(bind: nowMillis))
                ON CONFLICT (tenant_id, practitioner_id) DO UPDATE SET settings = excluded.settings,
                    generated_until = excluded.generated_until, updated_at = excluded.updated_at
                """
            ).run()
        }
        return bookable
    }

    func slotResource(id: String, schedule: String, start: Int64, end: Int64, type: String, settings: AvailabilitySettings?, status: String) -> JSON {
        var object: JSONObject = [
            "resourceType": "Slot", "id": .string(id), "schedule": ["reference": .string("Schedule/\(schedule)")],
            "status": .string(status), "start": .string(Self.instant(start)), "end": .string(Self.instant(end)),
            "appointmentType": ["coding": [["system": .string(Self.appointmentTypeSystem), "code": .string(type)]], "text": .string(settings?.label(of: type) ?? type)],
        ]
        if status == "busy-unavailable" { object["comment"] = "absence" }
        return .object(object)
    }

    // MARK: searching

    /// Free slots by physician, specialty, hospital, appointment type and date range, soonest
    /// first. Open to every signed-in account: it is the directory patients book from.
    public func freeSlots(_ search: SlotSearch, tenant: TenantID) async throws -> Page<FreeSlot> {
        guard (1...100).contains(search.limit) else { throw ServiceError.invalid("limit is between 1 and 100.") }
        let now = now()
        let from = max(search.from ?? now, now)
        let to = search.to ?? from.addingTimeInterval(31 * 86_400)
        guard to > from, to.timeIntervalSince(from) <= 190 * 86_400 else { throw ServiceError.invalid("Search at most 190 days, with \"to\" after \"from\".") }
        let physicians = try await physicians(practitioner: search.practitioner, hospital: search.hospital, specialty: search.specialty, tenant: tenant)
        let stored = try await storedAvailability(physicians.map(\.id), tenant: tenant)
        guard !stored.isEmpty else { return Page(items: [], next: nil) }
        let bySchedule = Dictionary(uniqueKeysWithValues: stored.values.map { ($0.schedule, $0) })
        let byID = Dictionary(uniqueKeysWithValues: physicians.map { ($0.id, $0) })
        var parameters: [(String, String)] = [
            ("schedule", bySchedule.keys.sorted().map { "Schedule/\($0)" }.joined(separator: ",")), ("status", "free"),
            ("start", "ge\(Self.instant(from))"), ("start", "lt\(Self.instant(to))"), ("_sort", "start"), ("_count", String(search.limit)),
        ]
        if let type = search.type { parameters.append(("appointment-type", "\(Self.appointmentTypeSystem)|\(type)")) }
        var query = try SearchQuery.parse(resourceType: "Slot", parameters: parameters)
        query.total = TotalMode.none
        query.cursor = search.cursor
        let result = try await fhir.search(query, as: .system(tenant))
        let items: [FreeSlot] = try result.matches.compactMap { match in
            let json = try match.json()
            guard let schedule = Self.id(of: json["schedule"]?["reference"]?.stringValue, type: "Schedule"), let owner = bySchedule[schedule],
                let physician = byID[owner.practitioner]
            else { return nil }
            let type = json["appointmentType"]?["coding"]?.arrayValue?.first?["code"]?.stringValue ?? ""
            return FreeSlot(
                id: match.id, practitioner: physician.id, practitionerName: physician.name, hospital: physician.hospital, specialties: physician.specialties,
                start: json["start"]?.stringValue ?? "", end: json["end"]?.stringValue ?? "", type: type, typeLabel: owner.settings.label(of: type))
        }
        return Page(items: items, next: result.nextCursor)
    }
}
