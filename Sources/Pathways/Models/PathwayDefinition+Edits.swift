import Access
import Core

/// The edits an admin makes to a definition, whichever surface asks (API or page). Each throws
/// 404 for an unknown stage; `PathwaysService.editDefinition` checks the result as a whole.
extension PathwayDefinition {
    /// The stages a case in `stage` may move to become `targets`: transitions kept keep their
    /// label, roles and rules; new ones are plain.
    public mutating func replaceTransitions(from stage: String, to targets: [String]) throws {
        guard self.stage(stage) != nil else { throw ServiceError.notFound("Stage \(stage)") }
        let kept = transitions.filter { $0.from != stage || targets.contains($0.to) }
        let added = targets.filter { target in !kept.contains { $0.from == stage && $0.to == target } }.map { Transition(from: stage, to: $0) }
        transitions = kept + added
    }

    public mutating func setRoles(_ roles: [Role], of stage: String) throws {
        guard let index = index(of: stage) else { throw ServiceError.notFound("Stage \(stage)") }
        stages[index].roles = roles
    }

    /// How long a case may stay in `stage` before its card shows as overdue; nil: no target.
    public mutating func setTargetHours(_ hours: Int?, of stage: String) throws {
        guard let index = index(of: stage) else { throw ServiceError.notFound("Stage \(stage)") }
        if let hours, !(1...8760).contains(hours) { throw ServiceError.invalid("A stage's target is between 1 and 8760 hours.") }
        stages[index].targetHours = hours
    }

    public mutating func setChecklist(_ items: [ChecklistItem], of stage: String) throws {
        guard let index = index(of: stage) else { throw ServiceError.notFound("Stage \(stage)") }
        stages[index].checklist = items
    }
}
