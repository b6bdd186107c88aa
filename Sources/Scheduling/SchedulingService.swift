import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// Appointments, availability and the care links they create (issue 4).
///
/// Schedule, Slot, Appointment and CareTeam are resources Scheduling owns (`Policy.managedTypes`):
/// it checks its own rules, then writes them as the server in the name of the principal who
/// asked, in one transaction with the slot holds and the audit records.
public struct SchedulingService: Sendable {
    let fhir: FHIRStore
    let clock: any WallClock
    let ids: any IDGenerator
    let logger: Logger

    public init(fhir: FHIRStore, clock: any WallClock, ids: any IDGenerator, logger: Logger) {
        self.fhir = fhir
        self.clock = clock
        self.ids = ids
        self.logger = logger
    }

    static let appointmentTypeSystem = "https://hygie.health/fhir/CodeSystem/appointment-type"

    /// A physician as scheduling sees them: where they work and in what.
    public struct Physician: Sendable, Equatable {
        public var id: String
        public var name: String
        public var hospital: String?
        public var specialties: [String]
    }

    /// Active physicians matching the filters (PractitionerRole with the physician role code).
    func physicians(practitioner: String? = nil, hospital: String? = nil, specialty: String? = nil, tenant: TenantID) async throws -> [Physician] {
        var parameters: [(String, String)] = [("role", "\(Role.codeSystem)|\(Role.physician.code)"), ("active", "true")]
        if let practitioner { parameters.append(("practitioner", "Practitioner/\(practitioner)")) }
        if let hospital { parameters.append(("organization", "Organization/\(hospital)")) }
        if let specialty { parameters.append(("specialty", "\(Specialty.codeSystem)|\(specialty)")) }
        var found: [String: Physician] = [:]
        for role in try await fhir.searchAll("PractitionerRole", parameters, tenant: tenant) {
            let json = try role.json()
            guard let reference = json["practitioner"]?["reference"]?.stringValue, reference.hasPrefix("Practitioner/") else { continue }
            let id = String(reference.dropFirst("Practitioner/".count))
            let specialties = json["specialty"]?.arrayValue?.compactMap { $0["coding"]?.arrayValue?.first?["code"]?.stringValue } ?? []
            let hospital = json["organization"]?["reference"]?.stringValue.map { String($0.dropFirst("Organization/".count)) }
            found[id] = Physician(id: id, name: "", hospital: hospital, specialties: specialties)
        }
        // Only practitioners still active in the directory (a deactivated or deleted account's
        // Practitioner is inactive).
        if !found.isEmpty {
            let inactive = try await fhir.searchAll("Practitioner", [("_id", found.keys.sorted().joined(separator: ",")), ("active", "false")], tenant: tenant)
            for practitioner in inactive { found.removeValue(forKey: practitioner.id) }
        }
        let names = try await fhir.displayNames("Practitioner", ids: Array(found.keys), tenant: tenant)
        return found.values.map { physician in
            var named = physician
            named.name = names[physician.id] ?? physician.id
            return named
        }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    func physician(_ id: String, tenant: TenantID) async throws -> Physician? {
        guard PrimitiveType.isValidID(id) else { return nil }
        return try await physicians(practitioner: id, tenant: tenant).first
    }

    /// The hospital a secretary or physician principal acts for must be the physician's.
    func requireSameHospital(_ principal: Principal, as physician: Physician) throws {
        guard let hospital = principal.hospital, physician.hospital == hospital else { throw ServiceError.forbidden }
    }

    func now() -> Date { clock.now() }

    static func millis(_ date: Date) -> Int64 { FHIRDateTime.epochMillis(date) }

    static func instant(_ millis: Int64) -> String { FHIRDateTime.instantString(epochMillis: millis) }

    static func instant(_ date: Date) -> String { instant(millis(date)) }

    /// Milliseconds of a FHIR instant or dateTime (its first millisecond).
    static func millis(_ text: String?) -> Int64? {
        guard let text else { return nil }
        return FHIRDateTime.parse(text, grammar: .dateTime)?.range.lowerBound
    }

    static func id(of reference: String?, type: String) -> String? {
        guard let reference, reference.hasPrefix(type + "/") else { return nil }
        return String(reference.dropFirst(type.count + 1))
    }
}

extension SchedulingService {
    /// Active physicians, for the directory patients choose from (any hospital).
    public func directory(hospital: String?, specialty: String?, tenant: TenantID) async throws -> [Physician] {
        try await physicians(hospital: hospital, specialty: specialty, tenant: tenant)
    }
}
