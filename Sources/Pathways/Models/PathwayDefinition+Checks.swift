import Foundation
import Access

extension PathwayDefinition {
    /// Everything that stops `role` from moving a case with `facts` to stage `target`; empty
    /// when the move is allowed. Order: the transition itself, the role, the comment a
    /// backward move needs, the source stage's mandatory checklist items (forward moves
    /// only), then the transition's rules.
    public func refusals(moving facts: CaseFacts, to target: String, role: Role, comment: String?) -> [Refusal] {
        guard let from = stage(facts.stage), let to = stage(target) else {
            return [Refusal(code: "unknown-stage", text: LocalizedText(fr: "Cette étape n'existe pas dans le parcours.", en: "This stage does not exist in the pathway."))]
        }
        guard let transition = transition(from: from.code, to: to.code) else {
            let allowed = transitions.filter { $0.from == from.code }.compactMap { stage($0.to)?.title }
            let list = LocalizedText(fr: allowed.map { "« \($0.fr) »" }.joined(separator: ", "), en: allowed.map { "\"\($0.en)\"" }.joined(separator: ", "))
            return [
                Refusal(
                    code: "no-transition",
                    text: allowed.isEmpty
                        ? LocalizedText(
                            fr: "Un dossier « \(from.title.fr) » ne change plus d'étape.", en: "A case in \"\(from.title.en)\" moves no further.")
                        : LocalizedText(
                            fr: "Un dossier « \(from.title.fr) » ne peut pas passer en « \(to.title.fr) » : étapes possibles \(list.fr).",
                            en: "A case in \"\(from.title.en)\" cannot move to \"\(to.title.en)\": it may move to \(list.en)."))
            ]
        }
        var refusals: [Refusal] = []
        let allowedRoles = roles(for: transition)
        if !allowedRoles.contains(role) {
            let names = allowedRoles.map(\.title)
            refusals.append(
                Refusal(
                    code: "role",
                    text: LocalizedText(
                        fr: "Seul un \(names.map(\.fr).joined(separator: " ou un ")) peut faire passer un dossier en « \(to.title.fr) ».",
                        en: "Only a \(names.map(\.en).joined(separator: " or a ")) may move a case to \"\(to.title.en)\".")))
        }
        let backward = isBackward(from: from.code, to: to.code)
        if backward, (comment?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "").isEmpty {
            refusals.append(
                Refusal(
                    code: "comment-required",
                    text: LocalizedText(
                        fr: "Un retour en arrière doit être expliqué par un commentaire.", en: "A backward move must be explained by a comment.")))
        }
        if !backward {
            let ticked = facts.ticked[from.code] ?? []
            for item in from.checklist where item.mandatory && !ticked.contains(item.code) {
                refusals.append(
                    Refusal(
                        code: "checklist:\(from.code)/\(item.code)",
                        text: LocalizedText(
                            fr: "Check-list « \(from.title.fr) » : « \(item.text.fr) » n'est pas cochée.",
                            en: "Checklist \"\(from.title.en)\": \"\(item.text.en)\" is not ticked.")))
            }
        }
        for rule in transition.rules where !holds(rule, for: facts) {
            refusals.append(Refusal(code: rule.code, text: rule.explanation))
        }
        return refusals
    }

    /// Everything that stops a treatment session from starting on a case with `facts`, with
    /// `ticked` items of the pre-session checklist (the blocking rule, checked at every session).
    public func sessionRefusals(for facts: CaseFacts, role: Role, ticked: Set<String>) -> [Refusal] {
        guard let sessions else {
            return [Refusal(code: "no-sessions", text: LocalizedText(fr: "Ce parcours n'a pas de séances.", en: "This pathway has no sessions."))]
        }
        var refusals: [Refusal] = []
        let treatmentRoles = stage(sessions.stage)?.roles ?? []
        if !treatmentRoles.contains(role) {
            refusals.append(
                Refusal(
                    code: "role",
                    text: LocalizedText(
                        fr: "Seul un \(treatmentRoles.map(\.title.fr).joined(separator: " ou un ")) peut délivrer une séance.",
                        en: "Only a \(treatmentRoles.map(\.title.en).joined(separator: " or a ")) may deliver a session.")))
        }
        if facts.stage != sessions.stage, let title = stage(sessions.stage)?.title {
            refusals.append(
                Refusal(
                    code: "stage:\(sessions.stage)",
                    text: LocalizedText(fr: "Le dossier n'est pas « \(title.fr) ».", en: "The case is not \"\(title.en)\".")))
        }
        for rule in sessions.rules where !holds(rule, for: facts) {
            refusals.append(Refusal(code: rule.code, text: rule.explanation))
        }
        if let planned = facts.sessionsPlanned, facts.sessionsDone >= planned {
            refusals.append(
                Refusal(
                    code: "all-sessions-done",
                    text: LocalizedText(fr: "Les \(planned) séances prévues sont déjà faites.", en: "All \(planned) planned sessions are already done.")))
        }
        for item in sessions.checklist where item.mandatory && !ticked.contains(item.code) {
            refusals.append(
                Refusal(
                    code: "checklist:session/\(item.code)",
                    text: LocalizedText(
                        fr: "Check-list pré-séance : « \(item.text.fr) » n'est pas cochée.", en: "Pre-session checklist: \"\(item.text.en)\" is not ticked.")))
        }
        return refusals
    }

    /// Whether `rule` holds for the case.
    public func holds(_ rule: Rule, for facts: CaseFacts) -> Bool {
        switch rule.kind {
        case .reached:
            guard let stage = rule.stage, let wanted = index(of: stage), let current = index(of: facts.stage) else { return false }
            return current >= wanted
        case .checked:
            guard let stage = rule.stage, let item = rule.item else { return false }
            return facts.ticked[stage]?.contains(item) == true
        case .machineQAOK:
            return facts.machine != nil && facts.machineQAOK
        case .allSessionsDone:
            guard let planned = facts.sessionsPlanned else { return false }
            return facts.sessionsDone >= planned
        case .machineAssigned:
            return facts.machine != nil
        }
    }

    /// Problems that make a definition unusable: unknown stages, duplicate codes, rules
    /// naming what does not exist. Checked before an edited definition is saved.
    public func problems() -> [String] {
        var problems: [String] = []
        let codes = stages.map(\.code)
        if Set(codes).count != codes.count { problems.append("Two stages have the same code.") }
        if stages.isEmpty { problems.append("A pathway has at least one stage.") }
        for stage in stages {
            let items = stage.checklist.map(\.code)
            if Set(items).count != items.count { problems.append("Stage \(stage.code) has two checklist items with the same code.") }
            if items.contains(where: { !Self.isCode($0) }) { problems.append("Checklist codes of \(stage.code) use a-z, 0-9 and '-' only.") }
            if stage.roles.isEmpty { problems.append("Stage \(stage.code) needs at least one role.") }
            if let target = stage.targetHours, target <= 0 { problems.append("Stage \(stage.code): targetHours must be positive.") }
        }
        var pairs: Set<String> = []
        for transition in transitions {
            if index(of: transition.from) == nil || index(of: transition.to) == nil {
                problems.append("Transition \(transition.from) → \(transition.to) names a stage that does not exist.")
            }
            if transition.from == transition.to { problems.append("A transition goes from one stage to another.") }
            if !pairs.insert("\(transition.from)>\(transition.to)").inserted {
                problems.append("Transition \(transition.from) → \(transition.to) is listed twice.")
            }
            if transition.roles?.isEmpty == true { problems.append("Transition \(transition.from) → \(transition.to) needs at least one role.") }
            problems += transition.rules.compactMap(problem(in:))
        }
        for delay in regulatoryDelays where index(of: delay.from) == nil || index(of: delay.to) == nil {
            problems.append("Delay \(delay.code) names a stage that does not exist.")
        }
        if Set(regulatoryDelays.map(\.code)).count != regulatoryDelays.count { problems.append("Two delays have the same code.") }
        if let sessions {
            if index(of: sessions.stage) == nil { problems.append("Sessions happen in a stage that does not exist.") }
            problems += sessions.rules.compactMap(problem(in:))
        }
        return problems
    }

    func problem(in rule: Rule) -> String? {
        switch rule.kind {
        case .reached:
            guard let stage = rule.stage, index(of: stage) != nil else { return "A \"reached\" rule names an unknown stage." }
        case .checked:
            guard let stage = rule.stage, let item = rule.item, self.stage(stage)?.checklist.contains(where: { $0.code == item }) == true else {
                return "A \"checked\" rule names an unknown checklist item."
            }
        default: break
        }
        return nil
    }

    static func isCode(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

extension Role {
    /// The role's name in refusals and on pages.
    public var title: LocalizedText {
        switch self {
        case .superAdmin: LocalizedText(fr: "super-administrateur", en: "super administrator")
        case .hospitalAdmin: LocalizedText(fr: "administrateur d'hôpital", en: "hospital administrator")
        case .physician: LocalizedText(fr: "médecin", en: "physician")
        case .secretary: LocalizedText(fr: "secrétaire", en: "secretary")
        case .nurse: LocalizedText(fr: "infirmier", en: "nurse")
        case .radiotherapyTechnologist: LocalizedText(fr: "manipulateur", en: "technologist")
        case .medicalPhysicist: LocalizedText(fr: "physicien médical", en: "medical physicist")
        case .dosimetrist: LocalizedText(fr: "dosimétriste", en: "dosimetrist")
        case .coordinator: LocalizedText(fr: "coordinateur", en: "coordinator")
        case .patient: LocalizedText(fr: "patient", en: "patient")
        case .system: LocalizedText(fr: "service", en: "service")
        }
    }
}
