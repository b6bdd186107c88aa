import Core
import FHIR
import Foundation

/// The kinds of medical-record entries a physician keeps (issue 4), each one FHIR resource
/// type (DESIGN §3); a consultation is a Composition with its Encounter.
public enum RecordKind: String, Sendable, CaseIterable, Codable {
    case consultation, condition, allergy, medication, immunization, observation

    public var resourceType: String {
        switch self {
        case .consultation: "Composition"
        case .condition: "Condition"
        case .allergy: "AllergyIntolerance"
        case .medication: "MedicationRequest"
        case .immunization: "Immunization"
        case .observation: "Observation"
        }
    }

    public init?(resourceType: String) {
        guard let kind = Self.allCases.first(where: { $0.resourceType == resourceType }) else { return nil }
        self = kind
    }
}

/// A coded concept as entries carry it: a system (ATC, LOINC, CIM-10…) and a code.
public struct EntryCode: Codable, Sendable, Equatable {
    public var system: String
    public var code: String
    public var display: String?

    public init(system: String, code: String, display: String? = nil) {
        self.system = system
        self.code = code
        self.display = display
    }

    public static let atc = "http://www.whocc.no/atc"
    public static let loinc = "http://loinc.org"
}

/// One entry of the record, flat, as `/api/v1/medical-records` and the chart's forms carry
/// it. Fields that a kind does not use are ignored for it.
public struct RecordEntry: Codable, Sendable, Equatable {
    public var id: String?
    public var kind: RecordKind
    public var patient: String
    public var version: Int?
    /// When it happened: consultation date, onset, vaccination, result, prescription.
    public var date: String?
    /// What it is, in words: the diagnosis, substance, drug, vaccine, test or title.
    public var title: String
    public var code: EntryCode?
    /// active | resolved (condition, allergy); active | completed | stopped (medication).
    public var status: String?
    public var note: String?
    /// Who recorded it (Practitioner id) and their name; set by the server.
    public var author: String?
    public var authorName: String?
    public var updated: String?
    // medication
    public var dosage: String?
    public var periodStart: String?
    public var periodEnd: String?
    public var renewalDate: String?
    // allergy
    public var criticality: String?
    public var reaction: String?
    // observation
    public var value: String?
    public var unit: String?
    // immunization
    public var lot: String?
    /// Prescribing despite a recorded allergy the server warned about.
    public var acknowledgeAllergies: Bool?

    enum CodingKeys: String, CodingKey {
        case id, kind, patient, version, date, title, code, status, note, author, updated, dosage, reaction, criticality, value, unit, lot
        case authorName = "author_name", periodStart = "period_start", periodEnd = "period_end", renewalDate = "renewal_date"
        case acknowledgeAllergies = "acknowledge_allergies"
    }

    public init(kind: RecordKind, patient: String, title: String) {
        self.kind = kind
        self.patient = patient
        self.title = title
    }

    /// Checks sizes and formats; the first problem is reported.
    public func validate() throws {
        let title = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !title.isEmpty, title.count <= 200 else { throw ServiceError.invalid("\"title\" says what the entry is, in at most 200 characters.") }
        for (name, value) in [("note", note), ("dosage", dosage), ("reaction", reaction)] {
            if let value, value.count > 4000 { throw ServiceError.invalid("\"\(name)\" has at most 4000 characters.") }
        }
        for (name, value) in [("date", date), ("period_start", periodStart), ("period_end", periodEnd), ("renewal_date", renewalDate)] {
            if let value, FHIRDateTime.parse(value, grammar: .dateTime) == nil {
                throw ServiceError.invalid("\"\(name)\" is a date (YYYY-MM-DD) or a date and time.")
            }
        }
        if let code, code.system.isEmpty || code.code.isEmpty || code.code.count > 64 || code.system.count > 200 {
            throw ServiceError.invalid("A code needs a system and a code (at most 64 characters).")
        }
        let statuses: [RecordKind: Set<String>] = [
            .condition: ["active", "recurrence", "relapse", "inactive", "remission", "resolved"], .allergy: ["active", "inactive", "resolved"],
            .medication: ["active", "on-hold", "completed", "stopped", "cancelled", "draft"],
        ]
        if let status, let allowed = statuses[kind], !allowed.contains(status) {
            throw ServiceError.invalid("\"status\" of a \(kind.rawValue) is one of \(allowed.sorted().joined(separator: ", ")).")
        }
        if let criticality, !["low", "high", "unable-to-assess"].contains(criticality) {
            throw ServiceError.invalid("\"criticality\" is low, high or unable-to-assess.")
        }
        if kind == .observation, let value, value.count > 200 { throw ServiceError.invalid("\"value\" has at most 200 characters.") }
        if let start = periodStart, let end = periodEnd, (FHIRDateTime.parse(start, grammar: .dateTime)?.range.lowerBound ?? 0) > (FHIRDateTime.parse(end, grammar: .dateTime)?.range.lowerBound ?? 0) {
            throw ServiceError.invalid("The treatment period ends before it starts.")
        }
    }
}
