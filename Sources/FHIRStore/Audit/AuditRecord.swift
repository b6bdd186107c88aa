import FHIR
import Foundation
import Synchronization

/// One audited action, before it becomes an AuditEvent (FHIR R4 AuditEvent; the codes follow
/// the DICOM audit message vocabulary (PS3.15 §A.5) and FHIR's restful-interaction codes).
public struct AuditRecord: Sendable, Equatable {
    public enum Action: String, Sendable {
        case create = "C", read = "R", update = "U", delete = "D", execute = "E"
    }

    public enum Outcome: String, Sendable {
        case success = "0", minorFailure = "4", seriousFailure = "8"
    }

    /// What happened.
    public enum Kind: Sendable, Equatable {
        /// A FHIR interaction: its restful-interaction code (read, search-type, create…).
        case rest(String)
        case login, logout, passwordChange
        /// An account was created, changed, deactivated or deleted, or its role changed.
        case accountChange
        case breakTheGlass
        /// A DICOM archive event (PS3.15 §A.5.3), over DICOMweb or DIMSE.
        case dicom(DICOMEvent)
    }

    /// DICOM audit event ids (PS3.16 CID 400, PS3.15 §A.5.3).
    public enum DICOMEvent: String, Sendable {
        case instancesTransferred = "110104"
        case instancesAccessed = "110103"
        case query = "110112"
        case studyDeleted = "110105"
        case export = "110106"
        /// A study filed under its patient by reconciliation.
        case patientRecord = "110110"

        var display: String {
            switch self {
            case .instancesTransferred: "DICOM Instances Transferred"
            case .instancesAccessed: "DICOM Instances Accessed"
            case .query: "Query"
            case .studyDeleted: "DICOM Study Deleted"
            case .export: "Export"
            case .patientRecord: "Patient Record"
            }
        }
    }

    public var agent: AuditAgent
    public var kind: Kind
    public var action: Action
    public var outcome: Outcome
    /// References of the resources acted on.
    public var entities: [String]
    /// Ids of the patients whose data was concerned.
    public var patients: [String]
    /// Why it failed, or the reason given (break-the-glass); never clinical text.
    public var detail: String?
    /// The search parameters of a search, as sent.
    public var query: String?

    public init(
        agent: AuditAgent, kind: Kind, action: Action, outcome: Outcome = .success, entities: [String] = [], patients: [String] = [],
        detail: String? = nil, query: String? = nil
    ) {
        self.agent = agent
        self.kind = kind
        self.action = action
        self.outcome = outcome
        self.entities = entities
        self.patients = patients
        self.detail = detail
        self.query = query
    }

    /// The AuditEvent resource for this record.
    func resource(recorded: String) -> JSON {
        var object: JSONObject = ["resourceType": "AuditEvent"]
        let (type, subtype) = codes
        object["type"] = .object(type)
        object["subtype"] = [.object(subtype)]
        object["action"] = .string(action.rawValue)
        object["recorded"] = .string(recorded)
        object["outcome"] = .string(outcome.rawValue)
        if let detail { object["outcomeDesc"] = .string(detail) }
        var who: JSONObject = [:]
        if let reference = agent.who { who["reference"] = .string(reference) }
        who["identifier"] = ["system": "https://hygie.health/fhir/NamingSystem/account", "value": .string(agent.account)]
        var participant: JSONObject = [
            "who": .object(who), "altId": .string(agent.account), "requestor": true,
            "role": [["coding": [["system": "https://hygie.health/fhir/CodeSystem/role", "code": .string(agent.role)]]]],
        ]
        if let address = agent.address { participant["network"] = ["address": .string(address), "type": "2"] }
        object["agent"] = [.object(participant)]
        object["source"] = [
            "observer": ["display": "Hygie"],
            "type": [["system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"]],
        ]
        var entities: [JSON] = patients.map { patient in
            [
                "what": ["reference": .string("Patient/\(patient)")],
                "type": ["system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"],
                "role": ["system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"],
            ]
        }
        for reference in self.entities where !patients.contains(where: { "Patient/\($0)" == reference }) {
            entities.append(["what": ["reference": .string(reference)]])
        }
        if let query {
            entities.append(["query": .string(Data(query.utf8).base64EncodedString())])
        }
        if !entities.isEmpty { object["entity"] = .array(entities) }
        return .object(object)
    }

    var codes: (type: JSONObject, subtype: JSONObject) {
        let dicom = "http://dicom.nema.org/resources/ontology/DCM"
        let hygie = "https://hygie.health/fhir/CodeSystem/audit-event"
        switch kind {
        case .rest(let interaction):
            return (
                ["system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"],
                ["system": "http://hl7.org/fhir/restful-interaction", "code": .string(interaction)]
            )
        case .login:
            return (["system": .string(dicom), "code": "110114", "display": "User Authentication"], ["system": .string(dicom), "code": "110122", "display": "Login"])
        case .logout:
            return (["system": .string(dicom), "code": "110114", "display": "User Authentication"], ["system": .string(dicom), "code": "110123", "display": "Logout"])
        case .passwordChange:
            return (
                ["system": .string(dicom), "code": "110137", "display": "User Security Attributes Changed"],
                ["system": .string(hygie), "code": "password-change"]
            )
        case .accountChange:
            return (
                ["system": .string(dicom), "code": "110137", "display": "User Security Attributes Changed"],
                ["system": .string(hygie), "code": "account-change"]
            )
        case .breakTheGlass:
            return (["system": .string(dicom), "code": "110113", "display": "Security Alert"], ["system": .string(hygie), "code": "break-the-glass"])
        case .dicom(let event):
            return (
                ["system": .string(dicom), "code": .string(event.rawValue), "display": .string(event.display)],
                ["system": .string(hygie), "code": "dicom"]
            )
        }
    }
}

/// The records an interaction produces, collected while it runs.
final class AuditLog: Sendable {
    let agent: AuditAgent
    private let records = Mutex<[AuditRecord]>([])

    init(agent: AuditAgent) {
        self.agent = agent
    }

    func add(_ record: AuditRecord) {
        records.withLock { $0.append(record) }
    }

    func take() -> [AuditRecord] {
        records.withLock { records in
            defer { records = [] }
            return records
        }
    }
}
