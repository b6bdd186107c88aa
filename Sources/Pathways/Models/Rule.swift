/// A condition on a case that blocks a transition or a treatment session when it does not
/// hold. A closed set: each kind is evaluated by the engine from the case's facts.
public struct Rule: Codable, Sendable, Equatable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The case is at `stage` or past it.
        case reached
        /// Item `item` of stage `stage`'s checklist is ticked.
        case checked
        /// The case's treatment machine has passed today's daily QA.
        case machineQAOK = "machine-qa-ok"
        /// Every planned session has been delivered.
        case allSessionsDone = "all-sessions-done"
        /// The case names a treatment machine.
        case machineAssigned = "machine-assigned"
    }

    public var kind: Kind
    public var stage: String?
    public var item: String?
    /// What the refusal says when the rule does not hold.
    public var explanation: LocalizedText

    public init(_ kind: Kind, stage: String? = nil, item: String? = nil, explanation: LocalizedText) {
        self.kind = kind
        self.stage = stage
        self.item = item
        self.explanation = explanation
    }

    /// The stable code a refusal names: `machine-qa-ok`, `reached:plan-validated`,
    /// `checked:prescription-validated/prescription-signed`.
    public var code: String {
        switch kind {
        case .reached: "reached:\(stage ?? "")"
        case .checked: "checked:\(stage ?? "")/\(item ?? "")"
        default: kind.rawValue
        }
    }
}
