/// What the engine knows of a case when it checks a move or a session: read from the case's
/// Task, its checklists, its sessions and the day's machine QA by the service, evaluated here
/// without any I/O.
public struct CaseFacts: Sendable, Equatable {
    public var stage: String
    /// Ticked checklist items, by stage.
    public var ticked: [String: Set<String>]
    public var machine: String?
    /// Whether the case's machine is "OK for today" (false when there is no machine).
    public var machineQAOK: Bool
    public var sessionsDone: Int
    public var sessionsPlanned: Int?

    public init(
        stage: String, ticked: [String: Set<String>] = [:], machine: String? = nil, machineQAOK: Bool = false, sessionsDone: Int = 0,
        sessionsPlanned: Int? = nil
    ) {
        self.stage = stage
        self.ticked = ticked
        self.machine = machine
        self.machineQAOK = machineQAOK
        self.sessionsDone = sessionsDone
        self.sessionsPlanned = sessionsPlanned
    }
}

/// Why a move or a session is refused, in words a person acts on.
public struct Refusal: Sendable, Equatable, Codable {
    /// Stable code: `role`, `no-transition`, `comment-required`, `checklist:{stage}/{item}`, or a rule's code.
    public var code: String
    public var text: LocalizedText

    public init(code: String, text: LocalizedText) {
        self.code = code
        self.text = text
    }
}
