import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import Storage
import SQLKit

/// A treatment machine (a Device owned by the hospital).
public struct TreatmentMachine: Sendable, Equatable {
    public var id: String
    public var name: String
    public var hospital: String
}

/// A machine's QA for one day, as the rules and the QA page read it.
public struct QAStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Today's daily list is complete, no action-level result, validated by a physicist.
        case ok
        /// An action-level result today.
        case failed
        /// Recorded, not yet validated by a physicist.
        case awaitingValidation = "awaiting-validation"
        /// Recorded, but tests of the daily list are missing.
        case incomplete
        /// Nothing recorded today.
        case missing
    }

    public var machine: String
    public var day: String
    public var state: State
    public var report: String?
    public var worst: QAGrade?

    public var okToday: Bool { state == .ok }
}

/// One QA session as recorded (a DiagnosticReport and its Observations).
public struct QASession: Sendable, Equatable {
    public struct Result: Sendable, Equatable {
        public var test: String
        public var value: String
        public var grade: QAGrade
    }

    public var id: String
    public var frequency: QATestList.Frequency
    public var recorded: String
    public var validated: Bool
    public var performer: String?
    public var validator: String?
    public var worst: QAGrade
    public var results: [Result]
}

extension PathwaysService {
    static let deviceTypeSystem = "https://hygie.health/fhir/CodeSystem/device-type"
    static let qaListSystem = "https://hygie.health/fhir/CodeSystem/machine-qa-list"
    static let qaTestSystem = "https://hygie.health/fhir/CodeSystem/machine-qa-test"
    static let qaGradeSystem = "https://hygie.health/fhir/CodeSystem/machine-qa-grade"

    /// Who manages machines and records QA: the hospital's medical physicists (and the
    /// coordinator, for the machine list itself).
    static func mayManageMachines(_ principal: Principal) -> Bool {
        principal.hospital != nil && [.medicalPhysicist, .coordinator].contains(principal.role)
    }

    public func machines(by principal: Principal) async throws -> [TreatmentMachine] {
        guard Self.worksOnCases(principal), let hospital = principal.hospital else { throw ServiceError.forbidden }
        return try await machines(of: hospital, tenant: principal.tenant)
    }

    func machines(of hospital: String, tenant: TenantID) async throws -> [TreatmentMachine] {
        let found = try await fhir.searchAll(
            "Device", [("organization", "Organization/\(hospital)"), ("type", "\(Self.deviceTypeSystem)|linac"), ("status", "active")], tenant: tenant)
        return try found.map { stored in
            let json = try stored.json()
            return TreatmentMachine(id: stored.id, name: json["deviceName"]?.arrayValue?.first?["name"]?.stringValue ?? stored.id, hospital: hospital)
        }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// Adds a treatment machine to the principal's hospital, with the default QA lists.
    public func addMachine(name: String, by principal: Principal) async throws -> TreatmentMachine {
        guard Self.mayManageMachines(principal), let hospital = principal.hospital else { throw ServiceError.forbidden }
        guard let name = try Self.text(name, field: "name", limit: 100) else { throw ServiceError.invalid("Name the machine (\"name\").") }
        let id = ids.makeID()
        let device: JSON = [
            "resourceType": "Device", "id": .string(id), "status": "active",
            "deviceName": [["name": .string(name), "type": "user-friendly-name"]],
            "type": ["coding": [["system": .string(Self.deviceTypeSystem), "code": "linac", "display": "Accélérateur linéaire"]]],
            "owner": ["reference": .string("Organization/\(hospital)")],
        ]
        let lists = try QATestList.Frequency.allCases.map { ($0.rawValue, String(decoding: try Self.encoder.encode(QATestList.linacDefaults($0)), as: UTF8.self)) }
        let tenant = principal.tenant
        let updated = FHIRDateTime.epochMillis(now())
        let record = AuditRecord(agent: principal.auditAgent, kind: .rest("create"), action: .create, entities: ["Device/\(id)"], detail: "treatment machine")
        _ = try await fhir.transaction(HygieResources.transaction([HygieResources.put(device)]), as: .system(tenant), audit: [record]) { database in
            for (frequency, body) in lists {
                try await database.raw(
                    """
                    INSERT INTO machine_qa_lists (tenant_id, device_id, frequency, body, updated_at)
                    VALUES (\(bind: tenant.rawValue), \(bind: id), \(bind: frequency), \(bind: body), \(bind: updated))
                    """
                ).run()
            }
        }
        return TreatmentMachine(id: id, name: name, hospital: hospital)
    }

    /// The machine, when it belongs to the principal's hospital.
    func machine(_ id: String, by principal: Principal) async throws -> TreatmentMachine {
        guard Self.worksOnCases(principal), let hospital = principal.hospital else { throw ServiceError.forbidden }
        guard let found = try await machines(of: hospital, tenant: principal.tenant).first(where: { $0.id == id }) else {
            throw ServiceError.notFound("Machine \(id)")
        }
        return found
    }

    public func qaList(_ machine: String, _ frequency: QATestList.Frequency, by principal: Principal) async throws -> QATestList {
        _ = try await self.machine(machine, by: principal)
        return try await qaList(machine, frequency, tenant: principal.tenant)
    }

    func qaList(_ machine: String, _ frequency: QATestList.Frequency, tenant: TenantID) async throws -> QATestList {
        let row = try await fhir.database.read { database in
            try await database.raw(
                """
                SELECT body FROM machine_qa_lists WHERE tenant_id = \(bind: tenant.rawValue) AND device_id = \(bind: machine)
                AND frequency = \(bind: frequency.rawValue)
                """
            ).first()
        }
        guard let row else { return .linacDefaults(frequency) }
        return try JSONDecoder().decode(QATestList.self, from: Data(try row.decode(column: "body", as: String.self).utf8))
    }

    /// Replaces a machine's test list (a physicist's decision, audited).
    public func saveQAList(_ machine: String, _ list: QATestList, by principal: Principal) async throws -> QATestList {
        guard principal.role == .medicalPhysicist else { throw ServiceError.forbidden }
        _ = try await self.machine(machine, by: principal)
        let problems = list.problems()
        guard problems.isEmpty else { throw ServiceError(422, "invalid-qa-list", problems.joined(separator: " "), details: problems) }
        let body = String(decoding: try Self.encoder.encode(list), as: UTF8.self)
        let tenant = principal.tenant
        let updated = FHIRDateTime.epochMillis(now())
        let record = AuditRecord(
            agent: principal.auditAgent, kind: .rest("update"), action: .update, entities: ["Device/\(machine)"],
            detail: "QA list \(list.frequency.rawValue)")
        _ = try await fhir.transaction(HygieResources.transaction([]), as: .system(tenant), audit: [record]) { database in
            try await database.raw(
                """
                DELETE FROM machine_qa_lists WHERE tenant_id = \(bind: tenant.rawValue) AND device_id = \(bind: machine)
                AND frequency = \(bind: list.frequency.rawValue)
                """
            ).run()
            try await database.raw(
                """
                INSERT INTO machine_qa_lists (tenant_id, device_id, frequency, body, updated_at)
                VALUES (\(bind: tenant.rawValue), \(bind: machine), \(bind: list.frequency.rawValue), \(bind: body), \(bind: updated))
                """
            ).run()
        }
        return list
    }

    /// Today's date in the service's time zone (yyyy-MM-dd): the day machine QA counts for.
    public func today() -> String { day(of: now()).name }

    /// The local day (in the service's time zone) containing `date`, as [start, end) instants.
    func day(of date: Date) -> (name: String, start: String, end: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.startOfDay(for: date)
        let end = calendar.date(byAdding: .day, value: 1, to: start)!
        let parts = calendar.dateComponents([.year, .month, .day], from: start)
        let name = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        return (name, Self.instant(start), Self.instant(end))
    }
}
