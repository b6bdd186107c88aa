import FHIR
import Foundation

/// A case ("dossier") as the pathway pages and API see it, read from its Task.
public struct PathwayCase: Sendable, Equatable {
    public enum Priority: String, Sendable, CaseIterable, Codable {
        case routine
        case urgent
        case asap
        case stat
    }

    public var id: String
    /// The Task version this was read from; a transition names it to refuse stale moves.
    public var version: Int
    public var pathway: String
    public var stage: String
    /// When the case entered its current stage (milliseconds since 1970).
    public var stageEntered: Int64
    public var created: Int64
    public var patient: String
    public var hospital: String
    public var priority: Priority
    public var machine: String?
    public var protocolName: String?
    public var pathology: String?
    public var referringPhysician: String?
    public var plannedSessions: Int?
    public var closed: Bool

    static let inputCodes = (
        machine: "machine", protocolName: "protocol", pathology: "pathology", referrer: "referring-physician", sessions: "planned-sessions"
    )

    /// Reads a Task written by `PathwaysService`; nil when it is not a pathway case.
    init?(task: JSON, version: Int) {
        guard let id = task["id"]?.stringValue,
            let pathway = task["code"]?["coding"]?.arrayValue?.first(where: { $0["system"]?.stringValue == PathwaysService.pathwaySystem })?["code"]?
                .stringValue,
            let stage = task["businessStatus"]?["coding"]?.arrayValue?.first?["code"]?.stringValue,
            let patient = PathwaysService.id(of: task["for"]?["reference"]?.stringValue, type: "Patient"),
            let hospital = PathwaysService.id(of: task["owner"]?["reference"]?.stringValue, type: "Organization")
        else { return nil }
        self.id = id
        self.version = version
        self.pathway = pathway
        self.stage = stage
        self.patient = patient
        self.hospital = hospital
        self.priority = Priority(rawValue: task["priority"]?.stringValue ?? "") ?? .routine
        self.created = PathwaysService.millis(task["authoredOn"]?.stringValue) ?? 0
        let entered = task["extension"]?.arrayValue?.first { $0["url"]?.stringValue == PathwaysService.stageEnteredURL }?["valueDateTime"]?.stringValue
        self.stageEntered = PathwaysService.millis(entered) ?? created
        self.closed = task["status"]?.stringValue == "completed"
        var inputs: [String: JSON] = [:]
        for input in task["input"]?.arrayValue ?? [] {
            if let code = input["type"]?["coding"]?.arrayValue?.first?["code"]?.stringValue { inputs[code] = input }
        }
        let codes = Self.inputCodes
        self.machine = PathwaysService.id(of: inputs[codes.machine]?["valueReference"]?["reference"]?.stringValue, type: "Device")
        self.protocolName = inputs[codes.protocolName]?["valueString"]?.stringValue
        self.pathology = inputs[codes.pathology]?["valueString"]?.stringValue
        self.referringPhysician = PathwaysService.id(of: inputs[codes.referrer]?["valueReference"]?["reference"]?.stringValue, type: "Practitioner")
        self.plannedSessions = inputs[codes.sessions]?["valueUnsignedInt"]?.numberValue.flatMap { Int($0.text) }
    }
}
