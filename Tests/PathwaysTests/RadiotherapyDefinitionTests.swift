import Access
import Testing

@testable import Pathways

/// The radiotherapy table of the specification, rule by rule, on the pure engine.
@Suite struct RadiotherapyDefinitionTests {
    let definition = PathwayDefinition.radiotherapy

    /// Everything ticked, a machine that passed QA, every session done.
    func readyFacts(_ stage: String) -> CaseFacts {
        var ticked: [String: Set<String>] = [:]
        for stage in definition.stages { ticked[stage.code] = Set(stage.checklist.map(\.code)) }
        return CaseFacts(stage: stage, ticked: ticked, machine: "linac-1", machineQAOK: true, sessionsDone: 25, sessionsPlanned: 25)
    }

    /// The specification's table: stage → allowed next stages, and the role of each target.
    static let table: [(from: String, to: String, role: Role)] = [
        ("to-prepare", "prescription-validated", .physician),
        ("prescription-validated", "contours-validated", .physician),
        ("contours-validated", "plan-in-review", .dosimetrist),
        ("plan-in-review", "plan-validated", .medicalPhysicist),
        ("plan-in-review", "prescription-validated", .dosimetrist),
        ("plan-validated", "ready-for-treatment", .physician),
        ("plan-validated", "plan-in-review", .physician),
        ("ready-for-treatment", "in-treatment", .radiotherapyTechnologist),
        ("in-treatment", "closed", .physician),
        ("in-treatment", "closed", .medicalPhysicist),
        ("in-treatment", "ready-for-treatment", .radiotherapyTechnologist),
    ]

    @Test func theDefinitionHasTheEightStagesOfTheSpecificationInOrder() {
        #expect(definition.stages.map(\.title.fr) == [
            "À préparer", "Prescription validée", "Contours validés", "Plan en revue", "Plan validé", "Prêt pour traitement", "En traitement", "Clôturé",
        ])
        #expect(definition.problems().isEmpty)
        #expect(definition.transition(from: "plan-in-review", to: "prescription-validated")?.label?.fr == "À reprendre contourage")
    }

    @Test(arguments: table.indices)
    func everyTransitionOfTheTableIsAllowedToItsRole(_ index: Int) {
        let row = Self.table[index]
        let refusals = definition.refusals(moving: readyFacts(row.from), to: row.to, role: row.role, comment: "reprise demandée")
        #expect(refusals.isEmpty, "\(row.from) → \(row.to) by \(row.role): \(refusals.map(\.code))")
    }

    @Test func noOtherTransitionExists() {
        let allowed = Set(Self.table.map { "\($0.from)>\($0.to)" })
        for from in definition.stages {
            for to in definition.stages where from.code != to.code && !allowed.contains("\(from.code)>\(to.code)") {
                let refusals = definition.refusals(moving: readyFacts(from.code), to: to.code, role: .physician, comment: "x")
                #expect(refusals.map(\.code) == ["no-transition"], "\(from.code) → \(to.code)")
            }
        }
        #expect(definition.refusals(moving: readyFacts("closed"), to: "in-treatment", role: .physician, comment: "x").first?.text.fr.contains("ne change plus") == true)
    }

    @Test(arguments: table.indices)
    func everyOtherRoleIsRefusedEachTransition(_ index: Int) {
        let row = Self.table[index]
        let transition = definition.transition(from: row.from, to: row.to)!
        let allowed = definition.roles(for: transition)
        for role in Role.allCases where !allowed.contains(role) {
            let refusals = definition.refusals(moving: readyFacts(row.from), to: row.to, role: role, comment: "reprise demandée")
            #expect(refusals.map(\.code) == ["role"], "\(role) moving \(row.from) → \(row.to)")
        }
    }

    @Test func eachMandatoryChecklistItemBlocksTheForwardMoveOutOfItsStage() {
        for stage in definition.stages {
            for item in stage.checklist where item.mandatory {
                for transition in definition.transitions where transition.from == stage.code && !definition.isBackward(from: transition.from, to: transition.to) {
                    var facts = readyFacts(stage.code)
                    facts.ticked[stage.code]?.remove(item.code)
                    let role = definition.roles(for: transition).first!
                    let codes = definition.refusals(moving: facts, to: transition.to, role: role, comment: nil).map(\.code)
                    #expect(codes == ["checklist:\(stage.code)/\(item.code)"], "\(stage.code)/\(item.code) → \(transition.to)")
                }
            }
        }
    }

    @Test func optionalItemsDoNotBlockAndBackwardMovesIgnoreTheChecklist() {
        var facts = readyFacts("to-prepare")
        facts.ticked["to-prepare"]?.remove("consent-recorded")
        #expect(definition.refusals(moving: facts, to: "prescription-validated", role: .physician, comment: nil).isEmpty)
        var review = readyFacts("plan-validated")
        review.ticked = [:]
        #expect(definition.refusals(moving: review, to: "plan-in-review", role: .physician, comment: "PTV à revoir").isEmpty)
    }

    @Test func theSpecificationsConditionsAreTheMandatoryItems() {
        let mandatory = definition.stages.map { stage in stage.checklist.filter(\.mandatory).map(\.code) }
        #expect(mandatory == [
            ["identity-verified", "imaging-imported"], ["prescription-signed"], ["contours-locked"], ["dosimetric-qa"], ["oncologist-signature"], [],
            ["final-report"], [],
        ])
    }

    @Test(arguments: [("plan-in-review", "prescription-validated", Role.dosimetrist), ("plan-validated", "plan-in-review", .physician), ("in-treatment", "ready-for-treatment", .radiotherapyTechnologist)])
    func aBackwardMoveWithoutACommentIsRefused(_ from: String, _ to: String, _ role: Role) {
        #expect(definition.refusals(moving: readyFacts(from), to: to, role: role, comment: nil).map(\.code) == ["comment-required"])
        #expect(definition.refusals(moving: readyFacts(from), to: to, role: role, comment: "   ").map(\.code) == ["comment-required"])
        #expect(definition.refusals(moving: readyFacts(from), to: to, role: role, comment: "Volumes à reprendre").isEmpty)
    }

    @Test func treatmentStartsOnlyOnAMachineWhoseQAIsOKToday() {
        var facts = readyFacts("ready-for-treatment")
        facts.machineQAOK = false
        #expect(definition.refusals(moving: facts, to: "in-treatment", role: .radiotherapyTechnologist, comment: nil).map(\.code) == ["machine-qa-ok"])
        facts.machine = nil
        #expect(
            definition.refusals(moving: facts, to: "in-treatment", role: .radiotherapyTechnologist, comment: nil).map(\.code) == [
                "machine-assigned", "machine-qa-ok",
            ])
    }

    @Test func aCaseClosesOnlyWhenEverySessionIsDoneAndTheReportWritten() {
        var facts = readyFacts("in-treatment")
        facts.sessionsDone = 24
        facts.ticked["in-treatment"] = []
        #expect(
            definition.refusals(moving: facts, to: "closed", role: .physician, comment: nil).map(\.code) == [
                "checklist:in-treatment/final-report", "all-sessions-done",
            ])
    }

    @Test func aSessionIsRefusedWhenQAIsMissingOrFailedThePlanNotValidatedOrThePrescriptionMissing() {
        let checklist = Set(definition.sessions!.checklist.map(\.code))
        var facts = readyFacts("in-treatment")
        facts.sessionsDone = 3
        #expect(definition.sessionRefusals(for: facts, role: .radiotherapyTechnologist, ticked: checklist).isEmpty)

        var noQA = facts
        noQA.machineQAOK = false
        #expect(definition.sessionRefusals(for: noQA, role: .radiotherapyTechnologist, ticked: checklist).map(\.code) == ["machine-qa-ok"])

        var noPrescription = facts
        noPrescription.ticked["prescription-validated"] = []
        #expect(
            definition.sessionRefusals(for: noPrescription, role: .radiotherapyTechnologist, ticked: checklist).map(\.code) == [
                "checked:prescription-validated/prescription-signed"
            ])

        var planInReview = facts
        planInReview.stage = "plan-in-review"
        #expect(
            definition.sessionRefusals(for: planInReview, role: .radiotherapyTechnologist, ticked: checklist).map(\.code) == [
                "stage:in-treatment", "reached:plan-validated",
            ])

        #expect(
            definition.sessionRefusals(for: facts, role: .radiotherapyTechnologist, ticked: checklist.subtracting(["positioning"])).map(\.code) == [
                "checklist:session/positioning"
            ])
        #expect(definition.sessionRefusals(for: facts, role: .dosimetrist, ticked: checklist).map(\.code) == ["role"])
        var done = facts
        done.sessionsDone = 25
        #expect(definition.sessionRefusals(for: done, role: .radiotherapyTechnologist, ticked: checklist).map(\.code) == ["all-sessions-done"])
    }

    @Test func refusalsSpeakFrenchAndEnglish() {
        let refusal = definition.refusals(moving: readyFacts("to-prepare"), to: "prescription-validated", role: .dosimetrist, comment: nil)[0]
        #expect(refusal.text.fr == "Seul un médecin peut faire passer un dossier en « Prescription validée ».")
        #expect(refusal.text.en == "Only a physician may move a case to \"Prescription validated\".")
    }

    @Test func editedDefinitionsAreCheckedBeforeTheyAreSaved() {
        var broken = definition
        broken.transitions.append(.init(from: "closed", to: "nowhere"))
        broken.stages[0].roles = []
        #expect(broken.problems().count == 2)
    }
}

@Suite struct QAGradingTests {
    @Test func numericResultsAreGradedAgainstAbsoluteAndPercentLimits() {
        let output = QATestList.linacDefaults(.daily).test("output-6mv")!
        #expect(output.grade(.number(101.9)) == .ok)
        #expect(output.grade(.number(102)) == .ok)
        #expect(output.grade(.number(97.5)) == .tolerance)
        #expect(output.grade(.number(103.1)) == .action)
        let lasers = QATestList.linacDefaults(.daily).test("lasers")!
        #expect(lasers.grade(.number(-1)) == .ok)
        #expect(lasers.grade(.number(1.5)) == .tolerance)
        #expect(lasers.grade(.number(2.5)) == .action)
        #expect(lasers.grade(.passed(true)) == nil)
    }

    @Test func booleanAndChoiceResultsCarryTheirGrade() {
        let list = QATestList.linacDefaults(.daily)
        #expect(list.test("door-interlock")!.grade(.passed(true)) == .ok)
        #expect(list.test("door-interlock")!.grade(.passed(false)) == .action)
        #expect(list.test("beam-status")!.grade(.choice("one-failed")) == .tolerance)
        #expect(list.test("beam-status")!.grade(.choice("unknown")) == nil)
        #expect(list.problems().isEmpty && QATestList.linacDefaults(.weekly).problems().isEmpty)
    }
}
