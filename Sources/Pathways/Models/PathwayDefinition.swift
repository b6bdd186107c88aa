import Access

/// A care pathway as data (issue 6): its stages, the transitions allowed between them, who may
/// take them, the checklist each stage carries and the rules that block a transition. The
/// engine knows no pathway by name: radiotherapy is one value of this type, surgery another.
///
/// Definitions are versioned: an edit saves a new version, which applies to the next
/// transition at once; each transition records the version it was checked against.
public struct PathwayDefinition: Codable, Sendable, Equatable {
    /// Stable code, written in `Task.code` ("radiotherapy").
    public var code: String
    public var version: Int
    public var title: LocalizedText
    /// In pathway order: a transition to an earlier stage is a backward move.
    public var stages: [Stage]
    public var transitions: [Transition]
    /// Where treatment sessions are recorded, and the rules checked again before each one.
    public var sessions: Sessions?
    /// Delays the coordinator's dashboard measures against (e.g. prescription within 48 h).
    public var regulatoryDelays: [RegulatoryDelay]

    public init(
        code: String, version: Int, title: LocalizedText, stages: [Stage], transitions: [Transition], sessions: Sessions? = nil,
        regulatoryDelays: [RegulatoryDelay] = []
    ) {
        self.code = code
        self.version = version
        self.title = title
        self.stages = stages
        self.transitions = transitions
        self.sessions = sessions
        self.regulatoryDelays = regulatoryDelays
    }

    public struct Stage: Codable, Sendable, Equatable {
        /// Stable code, written in `Task.businessStatus`.
        public var code: String
        public var title: LocalizedText
        /// Who does what while a case is in this stage.
        public var summary: LocalizedText
        /// Roles that may move a case into this stage (by a forward transition; a backward one
        /// may name its own).
        public var roles: [Role]
        /// What is ticked while a case is in this stage; the mandatory items must be ticked
        /// before the case leaves it forward.
        public var checklist: [ChecklistItem]
        /// How long a case should stay here; past it the card is overdue.
        public var targetHours: Int?

        public init(code: String, title: LocalizedText, summary: LocalizedText, roles: [Role], checklist: [ChecklistItem] = [], targetHours: Int? = nil) {
            self.code = code
            self.title = title
            self.summary = summary
            self.roles = roles
            self.checklist = checklist
            self.targetHours = targetHours
        }
    }

    public struct ChecklistItem: Codable, Sendable, Equatable {
        /// Stable code, the `linkId` of the stage's Questionnaire item.
        public var code: String
        public var text: LocalizedText
        public var mandatory: Bool

        public init(code: String, text: LocalizedText, mandatory: Bool) {
            self.code = code
            self.text = text
            self.mandatory = mandatory
        }
    }

    public struct Transition: Codable, Sendable, Equatable {
        public var from: String
        public var to: String
        /// A name of its own when the move means more than its target ("À reprendre contourage").
        public var label: LocalizedText?
        /// Who may take it; when nil, the roles of the target stage.
        public var roles: [Role]?
        /// Conditions on the case checked when it is taken, besides the source stage's checklist.
        public var rules: [Rule]

        public init(from: String, to: String, label: LocalizedText? = nil, roles: [Role]? = nil, rules: [Rule] = []) {
            self.from = from
            self.to = to
            self.label = label
            self.roles = roles
            self.rules = rules
        }
    }

    public struct Sessions: Codable, Sendable, Equatable {
        /// The stage a case must be in for a session to start.
        public var stage: String
        /// Checked again before every session.
        public var rules: [Rule]
        /// Ticked by the technologist before each session; mandatory items must all be ticked.
        public var checklist: [ChecklistItem]

        public init(stage: String, rules: [Rule], checklist: [ChecklistItem]) {
            self.stage = stage
            self.rules = rules
            self.checklist = checklist
        }
    }

    /// "From entering `from` to entering `to`, at most `hours`."
    public struct RegulatoryDelay: Codable, Sendable, Equatable {
        public var code: String
        public var title: LocalizedText
        public var from: String
        public var to: String
        public var hours: Int

        public init(code: String, title: LocalizedText, from: String, to: String, hours: Int) {
            self.code = code
            self.title = title
            self.from = from
            self.to = to
            self.hours = hours
        }
    }

    public func stage(_ code: String) -> Stage? { stages.first { $0.code == code } }

    public func index(of code: String) -> Int? { stages.firstIndex { $0.code == code } }

    public func transition(from: String, to: String) -> Transition? { transitions.first { $0.from == from && $0.to == to } }

    /// Whether `to` comes before `from` in the pathway.
    public func isBackward(from: String, to: String) -> Bool {
        guard let source = index(of: from), let target = index(of: to) else { return false }
        return target < source
    }

    /// Roles allowed to take the transition.
    public func roles(for transition: Transition) -> [Role] { transition.roles ?? stage(transition.to)?.roles ?? [] }

    /// The first stage: where a new case starts.
    public var initialStage: Stage? { stages.first }
}
