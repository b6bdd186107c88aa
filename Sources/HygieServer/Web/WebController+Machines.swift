import Access
import Core
import FHIR
import Foundation
import Hummingbird
import Identity
import Pathways

/// The machines' QA page: today's state of each machine, the daily and weekly forms a
/// physicist fills, and the history of QA sessions with their grades.
extension WebController {
    func addMachinePages(to router: Router<AppRequestContext>) {
        router.get("/pathways/machines", use: page { request, context in
            try await signedIn(request, context) { session in try await machinesPage(request, session, context) }
        })
        router.post("/pathways/machines", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                do {
                    _ = try await pathways.addMachine(name: form["name"] ?? "", by: principal(session, context))
                } catch let error as ServiceError {
                    return try await machinesPage(request, session, context, error: message(error, request))
                }
                return Response.redirect(to: "/pathways/machines", type: .found)
            }
        })
        router.post("/pathways/machines/:id/qa", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let principal = principal(session, context)
                let machine = try context.parameters.require("id")
                let frequency = QATestList.Frequency(rawValue: form["frequency"] ?? "") ?? .daily
                do {
                    let list = try await pathways.qaList(machine, frequency, by: principal)
                    let results = list.tests.compactMap { test -> QAResultInput? in
                        guard let raw = form["test-\(test.code)"]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
                        switch test.kind {
                        case .numeric: return QAResultInput(test: test.code, value: .number(Double(raw.replacingOccurrences(of: ",", with: ".")) ?? .nan))
                        case .boolean: return QAResultInput(test: test.code, value: .passed(raw == "pass"))
                        case .choice: return QAResultInput(test: test.code, value: .choice(raw))
                        }
                    }
                    _ = try await pathways.recordQA(machine, frequency: frequency, results: results, validate: form["validate"] == "on", by: principal)
                } catch let error as ServiceError {
                    return try await machinesPage(request, session, context, error: message(error, request))
                }
                return Response.redirect(to: "/pathways/machines#machine-\(machine)", type: .found)
            }
        })
        router.post("/pathways/machines/:id/qa/:report/validate", use: page { request, context in
            try await signedIn(request, context, form: true) { session, _ in
                let machine = try context.parameters.require("id")
                do {
                    _ = try await pathways.validateQA(machine, report: try context.parameters.require("report"), by: principal(session, context))
                } catch let error as ServiceError {
                    return try await machinesPage(request, session, context, error: message(error, request))
                }
                return Response.redirect(to: "/pathways/machines#machine-\(machine)", type: .found)
            }
        })
    }

    func machinesPage(_ request: Request, _ session: WebSession, _ context: AppRequestContext, error: String? = nil) async throws -> Response {
        let principal = principal(session, context)
        guard PathwaysService.worksOnCases(principal) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let language = WebRenderer.language(request)
        var machines: [[String: Any]] = []
        for machine in try await pathways.machines(by: principal) {
            let status = try await pathways.qaStatus(of: machine.id, by: principal)
            let history = try await pathways.qaHistory(machine.id, limit: 10, by: principal)
            var forms: [[String: Any]] = []
            for frequency in QATestList.Frequency.allCases {
                let list = try await pathways.qaList(machine.id, frequency, by: principal)
                forms.append([
                    "frequency": frequency.rawValue, "title": renderer.text("qa_\(frequency.rawValue)", language),
                    "tests": list.tests.map { test -> [String: Any] in
                        var limits = ""
                        if let reference = test.reference, let tolerance = test.tolerance, let action = test.action {
                            let unit = test.percent == true ? " %" : " \(test.unit ?? "")"
                            limits = "\(Self.number(reference)) ± \(Self.number(tolerance))\(unit) / \(Self.number(action))\(unit)"
                        }
                        return [
                            "code": test.code, "title": test.title.text(language), "numeric": test.kind == .numeric, "boolean": test.kind == .boolean,
                            "choice": test.kind == .choice, "unit": test.percent == true ? "%" : (test.unit ?? ""), "limits": limits,
                            "choices": (test.choices ?? []).map { ["code": $0.code, "text": $0.text.text(language)] },
                        ]
                    },
                ])
            }
            machines.append([
                "id": machine.id, "name": machine.name, "state": status.state.rawValue, "stateLabel": renderer.text("qa_state_\(status.state.rawValue)", language),
                "ok": status.okToday, "forms": forms,
                "history": history.map { qa -> [String: Any] in
                    [
                        "id": qa.id, "machine": machine.id, "when": Self.display(qa.recorded), "frequency": renderer.text("qa_\(qa.frequency.rawValue)", language),
                        "worst": qa.worst.rawValue, "worstLabel": qa.worst.title.text(language), "validated": qa.validated,
                        "results": qa.results.map { "\($0.test) \($0.value) (\($0.grade.title.text(language)))" }.joined(separator: " · "),
                    ]
                },
            ])
        }
        let canAdd = principal.role == .medicalPhysicist || principal.role == .coordinator
        let values: [String: Any] = [
            "machines": machines, "day": pathways.today(),
            "canRecord": principal.role == .medicalPhysicist, "canAdd": canAdd,
        ]
        return render("pathway-machines", title: "machines_title", request, session: session, values, error: error)
    }

    static func number(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }
}
