import Foundation

/// How a QA result compares with its test's limits (AAPM TG-142 style): within tolerance,
/// past tolerance but within the action level, or past the action level.
public enum QAGrade: String, Codable, Sendable, Comparable, CaseIterable {
    case ok
    case tolerance
    case action

    var rank: Int {
        switch self {
        case .ok: 0
        case .tolerance: 1
        case .action: 2
        }
    }

    public static func < (lhs: QAGrade, rhs: QAGrade) -> Bool { lhs.rank < rhs.rank }

    public var title: LocalizedText {
        switch self {
        case .ok: LocalizedText(fr: "Conforme", en: "OK")
        case .tolerance: LocalizedText(fr: "Tolérance", en: "Tolerance")
        case .action: LocalizedText(fr: "Action", en: "Action")
        }
    }
}

/// A machine's QA test list for one frequency (daily or weekly).
public struct QATestList: Codable, Sendable, Equatable {
    public enum Frequency: String, Codable, Sendable, CaseIterable {
        case daily
        case weekly
    }

    public var frequency: Frequency
    public var tests: [QATest]

    public init(frequency: Frequency, tests: [QATest]) {
        self.frequency = frequency
        self.tests = tests
    }

    public func test(_ code: String) -> QATest? { tests.first { $0.code == code } }

    /// Problems that make a list unusable, checked before it is saved.
    public func problems() -> [String] {
        var problems: [String] = []
        let codes = tests.map(\.code)
        if Set(codes).count != codes.count { problems.append("Two tests have the same code.") }
        if tests.isEmpty { problems.append("A QA list has at least one test.") }
        for test in tests {
            if !PathwayDefinition.isCode(test.code) { problems.append("Test codes use a-z, 0-9 and '-' only (\(test.code)).") }
            switch test.kind {
            case .numeric:
                guard test.reference != nil, let tolerance = test.tolerance, let action = test.action else {
                    problems.append("Numeric test \(test.code) needs reference, tolerance and action.")
                    continue
                }
                if tolerance < 0 || action < tolerance { problems.append("Test \(test.code): 0 ≤ tolerance ≤ action.") }
                if test.percent == true, test.reference == 0 { problems.append("Test \(test.code): a percent limit needs a non-zero reference.") }
            case .boolean:
                break
            case .choice:
                if test.choices?.isEmpty ?? true { problems.append("Multiple-choice test \(test.code) needs choices.") }
            }
        }
        return problems
    }
}

/// One test of a QA list.
public struct QATest: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A measured value compared with a reference.
        case numeric
        /// Passed or failed (a failure is action level).
        case boolean
        /// One of several answers, each with its grade.
        case choice
    }

    public struct Choice: Codable, Sendable, Equatable {
        public var code: String
        public var text: LocalizedText
        public var grade: QAGrade

        public init(code: String, text: LocalizedText, grade: QAGrade) {
            self.code = code
            self.text = text
            self.grade = grade
        }
    }

    public var code: String
    public var title: LocalizedText
    public var kind: Kind
    public var unit: String?
    public var reference: Double?
    /// Largest deviation from the reference still "ok" (in the unit, or percent of the reference).
    public var tolerance: Double?
    /// Largest deviation still short of action level.
    public var action: Double?
    /// Whether tolerance and action are percentages of the reference.
    public var percent: Bool?
    public var choices: [Choice]?

    public init(
        code: String, title: LocalizedText, kind: Kind, unit: String? = nil, reference: Double? = nil, tolerance: Double? = nil, action: Double? = nil,
        percent: Bool? = nil, choices: [Choice]? = nil
    ) {
        self.code = code
        self.title = title
        self.kind = kind
        self.unit = unit
        self.reference = reference
        self.tolerance = tolerance
        self.action = action
        self.percent = percent
        self.choices = choices
    }

    /// The grade of a result; nil when the value does not fit the test (a number for a
    /// boolean test, an unknown choice).
    public func grade(_ value: QAValue) -> QAGrade? {
        switch (kind, value) {
        case (.numeric, .number(let measured)):
            guard let reference, let tolerance, let action, measured.isFinite else { return nil }
            var deviation = abs(measured - reference)
            if percent == true {
                guard reference != 0 else { return nil }
                deviation = deviation / abs(reference) * 100
            }
            // A hair of slack so that 2.0 % computed as 2.0000000001 stays within 2 %.
            let epsilon = 1e-9
            if deviation <= tolerance + epsilon { return .ok }
            if deviation <= action + epsilon { return .tolerance }
            return .action
        case (.boolean, .passed(let passed)):
            return passed ? .ok : .action
        case (.choice, .choice(let code)):
            return choices?.first { $0.code == code }?.grade
        default:
            return nil
        }
    }
}

/// A QA result as recorded.
public enum QAValue: Sendable, Equatable {
    case number(Double)
    case passed(Bool)
    case choice(String)
}

extension QATestList {
    /// The linear accelerator lists a new machine starts with (daily output, mechanical and
    /// safety checks; weekly flatness, symmetry and imaging), after AAPM TG-142's tables.
    public static func linacDefaults(_ frequency: Frequency) -> QATestList {
        switch frequency {
        case .daily:
            QATestList(
                frequency: .daily,
                tests: [
                    QATest(
                        code: "output-6mv", title: LocalizedText(fr: "Constance du débit 6 MV", en: "6 MV output constancy"), kind: .numeric, unit: "%",
                        reference: 100, tolerance: 2, action: 3, percent: true),
                    QATest(
                        code: "output-10mv", title: LocalizedText(fr: "Constance du débit 10 MV", en: "10 MV output constancy"), kind: .numeric,
                        unit: "%", reference: 100, tolerance: 2, action: 3, percent: true),
                    QATest(
                        code: "lasers", title: LocalizedText(fr: "Lasers de positionnement", en: "Positioning lasers"), kind: .numeric, unit: "mm",
                        reference: 0, tolerance: 1, action: 2),
                    QATest(
                        code: "odi", title: LocalizedText(fr: "Télémètre (ODI)", en: "Distance indicator (ODI)"), kind: .numeric, unit: "mm",
                        reference: 0, tolerance: 2, action: 3),
                    QATest(code: "door-interlock", title: LocalizedText(fr: "Sécurité de porte", en: "Door interlock"), kind: .boolean),
                    QATest(
                        code: "beam-status", title: LocalizedText(fr: "Voyants faisceau", en: "Beam status lights"), kind: .choice,
                        choices: [
                            QATest.Choice(code: "working", text: LocalizedText(fr: "Fonctionnels", en: "Working"), grade: .ok),
                            QATest.Choice(code: "one-failed", text: LocalizedText(fr: "Un voyant défaillant", en: "One light failed"), grade: .tolerance),
                            QATest.Choice(code: "failed", text: LocalizedText(fr: "Hors service", en: "Out of order"), grade: .action),
                        ]),
                ])
        case .weekly:
            QATestList(
                frequency: .weekly,
                tests: [
                    QATest(
                        code: "flatness", title: LocalizedText(fr: "Homogénéité", en: "Flatness"), kind: .numeric, unit: "%", reference: 100,
                        tolerance: 1, action: 2, percent: true),
                    QATest(
                        code: "symmetry", title: LocalizedText(fr: "Symétrie", en: "Symmetry"), kind: .numeric, unit: "%", reference: 100, tolerance: 1,
                        action: 2, percent: true),
                    QATest(code: "imaging-alignment", title: LocalizedText(fr: "Alignement imagerie / isocentre", en: "Imaging to isocentre alignment"), kind: .numeric, unit: "mm", reference: 0, tolerance: 1, action: 2),
                ])
        }
    }
}
