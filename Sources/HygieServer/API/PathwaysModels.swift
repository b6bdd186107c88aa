import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Pathways

/// A case card of `/api/v1/pathways/cases`.
struct CaseCardView: Encodable {
    let id: String
    let version: Int
    let pathway: String
    let stage: String
    let stage_entered: String
    let days_in_stage: Double
    let overdue: Bool
    let patient: String
    let patient_label: String
    let priority: String
    let machine: String?
    let machine_name: String?
    let protocol_name: String?
    let pathology: String?
    let referring_physician: String?
    let referring_physician_name: String?
    let planned_sessions: Int?
    let sessions_done: Int
    let closed: Bool

    init(_ card: CaseCard) {
        let found = card.pathwayCase
        id = found.id
        version = found.version
        pathway = found.pathway
        stage = found.stage
        stage_entered = FHIRDateTime.instantString(epochMillis: found.stageEntered)
        days_in_stage = (card.hoursInStage / 24 * 10).rounded() / 10
        overdue = card.overdue
        patient = found.patient
        patient_label = card.patientLabel
        priority = found.priority.rawValue
        machine = found.machine
        machine_name = card.machineName
        protocol_name = found.protocolName
        pathology = found.pathology
        referring_physician = found.referringPhysician
        referring_physician_name = card.referringPhysicianName
        planned_sessions = found.plannedSessions
        sessions_done = card.sessionsDone
        closed = found.closed
    }
}

/// `GET /api/v1/pathways/cases/{id}`: the case page's content.
struct CaseDetailView: Encodable {
    struct PatientView: Encodable {
        let id: String
        let label: String
        let name: String
        let birth_date: String?
        let identifiers: [String]
    }

    struct StepView: Encodable {
        let from: String?
        let to: String
        let practitioner: String?
        let role: String?
        let when: String
        let comment: String?
        let definition: String?
        let task_version: Int?
        let signature_valid: Bool
    }

    struct ChecklistView: Encodable {
        struct Item: Encodable {
            let code: String
            let text: String
            let mandatory: Bool
            let ticked: Bool
        }

        let stage: String
        let items: [Item]
    }

    struct MoveView: Encodable {
        let to: String
        let title: String
        let backward: Bool
        let roles: [String]
    }

    struct SessionView: Encodable {
        let id: String
        let number: Int
        let performed: String
        let machine: String?
        let practitioner: String?
        let checklist: [String]
    }

    let id: String
    let version: Int
    let pathway: String
    let definition_version: Int
    let stage: String
    let stage_entered: String
    let priority: String
    let machine: String?
    let machine_qa: String?
    let protocol_name: String?
    let pathology: String?
    let referring_physician: String?
    let planned_sessions: Int?
    let closed: Bool
    let patient: PatientView
    let timeline: [StepView]
    let checklists: [ChecklistView]
    let sessions: [SessionView]
    let moves: [MoveView]

    init(_ detail: CaseDetail, language: String) {
        let found = detail.pathwayCase
        let definition = detail.definition
        id = found.id
        version = found.version
        pathway = found.pathway
        definition_version = definition.version
        stage = found.stage
        stage_entered = FHIRDateTime.instantString(epochMillis: found.stageEntered)
        priority = found.priority.rawValue
        machine = found.machine
        machine_qa = detail.machineQA?.state.rawValue
        protocol_name = found.protocolName
        pathology = found.pathology
        referring_physician = found.referringPhysician
        planned_sessions = found.plannedSessions
        closed = found.closed
        patient = PatientView(
            id: found.patient, label: detail.patientLabel, name: FHIRStore.displayName(detail.patient), birth_date: detail.patient["birthDate"]?.stringValue,
            identifiers: (detail.patient["identifier"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue })
        timeline = detail.timeline.map {
            StepView(
                from: $0.from, to: $0.to, practitioner: $0.who, role: $0.role, when: $0.when, comment: $0.comment, definition: $0.policy,
                task_version: $0.taskVersion, signature_valid: $0.signatureValid)
        }
        checklists = detail.checklists.map { list in
            ChecklistView(
                stage: list.stage,
                items: list.items.map { .init(code: $0.code, text: $0.text.text(language), mandatory: $0.mandatory, ticked: list.ticked.contains($0.code)) })
        }
        sessions = detail.sessions.map {
            SessionView(id: $0.id, number: $0.number, performed: $0.performed, machine: $0.machine, practitioner: $0.performer, checklist: $0.checklist.sorted())
        }
        moves = detail.moves.map { transition in
            MoveView(
                to: transition.to, title: (transition.label ?? definition.stage(transition.to)?.title)?.text(language) ?? transition.to,
                backward: definition.isBackward(from: transition.from, to: transition.to), roles: definition.roles(for: transition).map(\.rawValue))
        }
    }
}

struct NewCaseBody: Decodable {
    let patient: String
    let pathway: String?
    let priority: String?
    let machine: String?
    let protocol_name: String?
    let pathology: String?
    let referring_physician: String?
    let planned_sessions: Int?

    func newCase() throws -> NewCase {
        let priority = try self.priority.map { text in
            guard let priority = PathwayCase.Priority(rawValue: text) else { throw ServiceError.invalid("\"priority\" is routine, urgent, asap or stat.") }
            return priority
        }
        return NewCase(
            pathway: pathway ?? "radiotherapy", patient: patient, priority: priority ?? .routine, machine: machine, protocolName: protocol_name,
            pathology: pathology, referringPhysician: referring_physician, plannedSessions: planned_sessions)
    }
}

struct TransitionBody: Decodable {
    let to: String
    let comment: String?
    /// The case version the mover saw; a newer one refuses the move (409).
    let version: Int?
}

struct ChecklistBody: Decodable {
    let items: [String: Bool]
}

struct SessionBody: Decodable {
    let checklist: [String]
    let note: String?
}

struct MachineBody: Decodable {
    let name: String
}

struct MachineView: Encodable {
    let id: String
    let name: String
    let qa_today: String
    let qa_report: String?
    let qa_worst: String?
}

struct QAResultBody: Decodable {
    let test: String
    let value: QAValueBody
}

/// A number, true/false, or a choice code.
enum QAValueBody: Decodable {
    case number(Double)
    case bool(Bool)
    case text(String)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    var value: QAValue {
        switch self {
        case .number(let number): .number(number)
        case .bool(let bool): .passed(bool)
        case .text(let text): .choice(text)
        }
    }
}

struct QABody: Decodable {
    let frequency: String?
    let results: [QAResultBody]
    let validate: Bool?
}

struct QASessionView: Encodable {
    struct Result: Encodable {
        let test: String
        let value: String
        let grade: String
    }

    let id: String
    let frequency: String
    let recorded: String
    let validated: Bool
    let practitioner: String?
    let validator: String?
    let worst: String
    let results: [Result]

    init(_ session: QASession) {
        id = session.id
        frequency = session.frequency.rawValue
        recorded = session.recorded
        validated = session.validated
        practitioner = session.performer
        validator = session.validator
        worst = session.worst.rawValue
        results = session.results.map { Result(test: $0.test, value: $0.value, grade: $0.grade.rawValue) }
    }
}

struct TransitionsBody: Decodable {
    let from: String
    let to: [String]
}

struct RolesBody: Decodable {
    let stage: String
    let roles: [String]
}

struct ChecklistItemBody: Decodable {
    let code: String
    let text_fr: String
    let text_en: String?
    let mandatory: Bool
}

struct ChecklistDefinitionBody: Decodable {
    let stage: String
    let items: [ChecklistItemBody]
}

struct CommentBody: Decodable {
    struct Attachment: Decodable {
        let content_type: String
        let title: String?
        /// Base64.
        let data: String
    }

    let text: String
    let visibility: String?
    /// Practitioner ids of the colleagues mentioned.
    let mentions: [String]?
    let attachments: [Attachment]?

    func decodedAttachments() throws -> [CaseComment.Attachment] {
        try (attachments ?? []).map { attachment in
            guard let data = Data(base64Encoded: attachment.data) else { throw ServiceError.invalid("An attachment's \"data\" is not base64.") }
            return CaseComment.Attachment(contentType: attachment.content_type, title: attachment.title ?? "", data: data)
        }
    }
}

struct CommentView: Encodable {
    struct Attachment: Encodable {
        let content_type: String
        let title: String
        let size: Int
    }

    let id: String
    let author: String?
    let sent: String
    let text: String
    let visibility: String
    let mentions: [String]
    let attachments: [Attachment]

    init(_ comment: CaseComment) {
        id = comment.id
        author = comment.author
        sent = comment.sent
        text = comment.text
        visibility = comment.visibility.rawValue
        mentions = comment.mentions
        attachments = comment.attachments.map { Attachment(content_type: $0.contentType, title: $0.title, size: $0.data.count) }
    }
}

/// `GET /api/v1/pathways/kpis`.
struct KPIView: Encodable {
    struct Stage: Encodable {
        let stage: String
        let mean_hours: Double?
        let stays: Int
        let rollback_rate: Double?
        let cases_now: Int
    }

    struct Delay: Encodable {
        let code: String
        let title: String
        let hours: Int
        let measured: Int
        let met: Int
    }

    let stages: [Stage]
    let prescription_to_first_session_hours: Double?
    let blocked_by_role: [String: Int]
    let blocked_by_machine: [String: Int]
    let delays: [Delay]
    let stalled_after_hours: Int
    let stalled: [CaseCardView]

    init(_ kpis: PathwayKPIs) {
        func rounded(_ value: Double?) -> Double? { value.map { ($0 * 10).rounded() / 10 } }
        stages = kpis.stages.map {
            Stage(stage: $0.stage, mean_hours: rounded($0.meanHours), stays: $0.stays, rollback_rate: $0.rollbackRate.map { ($0 * 1000).rounded() / 1000 }, cases_now: $0.casesNow)
        }
        prescription_to_first_session_hours = rounded(kpis.prescriptionToFirstSessionHours)
        blocked_by_role = Dictionary(uniqueKeysWithValues: kpis.blockedByRole.map { ($0.key.rawValue, $0.value) })
        blocked_by_machine = kpis.blockedByMachine
        delays = kpis.delays.map { Delay(code: $0.code, title: $0.title.fr, hours: $0.hours, measured: $0.measured, met: $0.met) }
        stalled_after_hours = kpis.stalledAfterHours
        stalled = kpis.stalled.map(CaseCardView.init)
    }
}

struct TargetBody: Decodable {
    let stage: String
    /// Hours a case may stay in the stage before it is overdue; null removes the target.
    let hours: Int?
}

struct DelaysBody: Decodable {
    struct Delay: Decodable {
        let code: String
        let title_fr: String
        let title_en: String?
        let from: String
        let to: String
        let hours: Int
    }

    let delays: [Delay]
}
