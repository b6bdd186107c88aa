import Access
import Core
import FHIR
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Pathways

/// The pages' contents: what each template shows, in the page's language.
extension WebController {
    func boardPage(_ request: Request, _ session: WebSession, _ context: AppRequestContext) async throws -> Response {
        let principal = principal(session, context)
        guard PathwaysService.worksOnCases(principal) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let language = WebRenderer.language(request)
        let parameters = request.uri.queryParameters
        func parameter(_ name: String) -> String? { parameters[Substring(name)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        let filter = CaseFilter(
            priority: parameter("priority").flatMap(PathwayCase.Priority.init), pathology: parameter("pathology"), machine: parameter("machine"),
            referringPhysician: parameter("referrer"), includeClosed: true)
        let (definition, cards) = try await pathways.board(filter, by: principal)
        let machines = try await pathways.machines(by: principal)
        let referrers = Dictionary(cards.compactMap { card in card.pathwayCase.referringPhysician.map { ($0, card.referringPhysicianName ?? $0) } }, uniquingKeysWith: { a, _ in a })
        let columns: [[String: Any]] = definition.stages.map { stage in
            let inStage = cards.filter { $0.pathwayCase.stage == stage.code }
            return [
                "code": stage.code, "title": stage.title.text(language), "summary": stage.summary.text(language), "count": inStage.count,
                "cards": inStage.map { card -> [String: Any] in
                    let found = card.pathwayCase
                    var values: [String: Any] = [
                        "id": found.id, "version": found.version, "label": card.patientLabel, "priority": found.priority.rawValue,
                        "priorityLabel": renderer.text("priority_\(found.priority.rawValue)", language), "urgent": found.priority != .routine,
                        "days": String(format: "%.1f", card.hoursInStage / 24), "overdue": card.overdue,
                    ]
                    // Absent values are left out so that the card shows no empty line.
                    values["machine"] = card.machineName
                    values["referrer"] = card.referringPhysicianName
                    values["pathology"] = found.pathology
                    values["sessions"] = found.plannedSessions.map { "\(card.sessionsDone)/\($0)" }
                    return values
                },
            ]
        }
        return render(
            "pathway-board", title: "pathways_title", request, session: session,
            [
                "columns": columns, "pathway": definition.title.text(language), "version": definition.version,
                "canOpen": definition.initialStage?.roles.contains(principal.role) == true,
                "priorities": PathwayCase.Priority.allCases.map { ["code": $0.rawValue, "label": renderer.text("priority_\($0.rawValue)", language), "selected": filter.priority == $0] },
                "machines": machines.map { ["id": $0.id, "name": $0.name, "selected": filter.machine == $0.id] },
                "referrers": referrers.sorted { $0.value < $1.value }.map { ["id": $0.key, "name": $0.value, "selected": filter.referringPhysician == $0.key] },
                "pathology": filter.pathology ?? "", "board": true,
            ])
    }

    func newCasePage(_ request: Request, _ session: WebSession, _ context: AppRequestContext, error: String? = nil) async throws -> Response {
        let principal = principal(session, context)
        guard principal.role == .radiotherapyTechnologist else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let patients = try await identity.fhir.searchAll("Patient", [("_sort", "family")], caller: Policy.caller(principal), limit: 500)
        let oncologists = try await pathways.department(matching: nil, by: principal).filter { $0.role == .physician }
        let language = WebRenderer.language(request)
        return render(
            "pathway-new", title: "pathways_new_title", request, session: session,
            [
                "patients": try patients.map { ["id": $0.id, "name": FHIRStore.displayName(try $0.json())] },
                "machines": try await pathways.machines(by: principal).map { ["id": $0.id, "name": $0.name] },
                "referrers": oncologists.map { ["id": $0.practitioner, "name": $0.name] },
                "priorities": PathwayCase.Priority.allCases.map { ["code": $0.rawValue, "label": renderer.text("priority_\($0.rawValue)", language)] },
            ], error: error)
    }

    func casePage(_ request: Request, _ session: WebSession, _ context: AppRequestContext, id: String, errors: [String] = []) async throws -> Response {
        let principal = principal(session, context)
        let detail: CaseDetail
        do {
            detail = try await pathways.detail(id, by: principal)
        } catch let error as ServiceError where error.status == 404 || error.status == 403 {
            return errorPage(request, session, "error_not_found", .notFound)
        }
        let language = WebRenderer.language(request)
        let definition = detail.definition
        let found = detail.pathwayCase
        let comments = try await pathways.comments(id, by: principal)
        let people = Set(detail.timeline.compactMap(\.who) + detail.sessions.compactMap(\.performer) + comments.compactMap(\.author) + [found.referringPhysician].compactMap { $0 })
        let names = try await identity.fhir.displayNames("Practitioner", ids: Array(people), tenant: principal.tenant)
        func title(_ code: String?) -> String { code.flatMap { definition.stage($0)?.title.text(language) } ?? "" }
        let machine = try await pathways.machines(by: principal).first { $0.id == found.machine }
        let currentIndex = definition.index(of: found.stage) ?? 0
        let sessionItems = definition.sessions?.checklist ?? []
        let values: [String: Any] = [
            "id": found.id, "version": found.version, "label": detail.patientLabel, "patientName": FHIRStore.displayName(detail.patient),
            "birthDate": detail.patient["birthDate"]?.stringValue ?? "", "identifiers": (detail.patient["identifier"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue }.joined(separator: ", "),
            "stage": title(found.stage), "closed": found.closed, "priority": renderer.text("priority_\(found.priority.rawValue)", language),
            "machine": machine?.name ?? "", "machineQA": detail.machineQA.map { renderer.text("qa_state_\($0.state.rawValue)", language) } ?? "",
            "machineOK": detail.machineQA?.okToday == true, "protocol": found.protocolName ?? "", "pathology": found.pathology ?? "",
            "referrer": found.referringPhysician.map { names[$0] ?? $0 } ?? "", "definitionVersion": definition.version,
            "sessionsDone": detail.sessions.count, "sessionsPlanned": found.plannedSessions.map(String.init) ?? "—",
            "stages": definition.stages.enumerated().map { index, stage in
                ["title": stage.title.text(language), "done": index < currentIndex || found.closed, "current": stage.code == found.stage && !found.closed]
            },
            "timeline": detail.timeline.reversed().map { step -> [String: Any] in
                [
                    "when": Self.display(step.when), "from": title(step.from), "to": title(step.to), "hasFrom": step.from != nil,
                    "who": step.who.map { names[$0] ?? $0 } ?? "", "role": step.role.map { renderer.text("role_\($0)", language) } ?? "",
                    "comment": step.comment ?? "", "signed": step.signatureValid, "taskVersion": step.taskVersion ?? 0,
                    "backward": step.from.map { definition.isBackward(from: $0, to: step.to) } ?? false,
                ]
            },
            "checklists": detail.checklists.compactMap { list -> [String: Any]? in
                guard let stage = definition.index(of: list.stage), stage <= currentIndex || found.closed else { return nil }
                return [
                    "stage": list.stage, "title": title(list.stage), "editable": list.stage == found.stage && !found.closed,
                    "items": list.items.map { ["code": $0.code, "text": $0.text.text(language), "mandatory": $0.mandatory, "ticked": list.ticked.contains($0.code)] },
                ]
            },
            "moves": detail.moves.map { transition -> [String: Any] in
                let backward = definition.isBackward(from: transition.from, to: transition.to)
                return [
                    "to": transition.to, "title": (transition.label ?? definition.stage(transition.to)?.title)?.text(language) ?? transition.to,
                    "backward": backward, "allowed": definition.roles(for: transition).contains(principal.role),
                ]
            },
            "sessionStage": definition.sessions?.stage == found.stage,
            "sessionItems": sessionItems.map { ["code": $0.code, "text": $0.text.text(language), "mandatory": $0.mandatory] },
            "sessions": detail.sessions.reversed().map { session -> [String: Any] in
                [
                    "number": session.number, "when": Self.display(session.performed), "who": session.performer.map { names[$0] ?? $0 } ?? "",
                    "checklist": sessionItems.filter { session.checklist.contains($0.code) }.map { $0.text.text(language) }.joined(separator: ", "),
                ]
            },
            "comments": comments.map { comment -> [String: Any] in
                [
                    "when": Self.display(comment.sent), "who": comment.author.map { names[$0] ?? $0 } ?? "", "text": comment.text,
                    "visibility": renderer.text("visibility_\(comment.visibility.rawValue)", language), "restricted": comment.visibility != .team,
                    "attachments": comment.attachments.enumerated().map { index, attachment in
                        [
                            "title": attachment.title.isEmpty ? attachment.contentType : attachment.title,
                            "href": "/pathways/cases/\(found.id)/comments/\(comment.id)/attachments/\(index)",
                        ]
                    },
                ]
            },
            "errors": errors, "hasErrors": !errors.isEmpty,
        ]
        return render("pathway-case", title: "pathways_case_title", request, session: session, values, status: errors.isEmpty ? .ok : .conflict)
    }

    func dashboardPage(_ request: Request, _ session: WebSession, _ context: AppRequestContext) async throws -> Response {
        let principal = principal(session, context)
        guard PathwaysService.worksOnCases(principal) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let language = WebRenderer.language(request)
        let kpis = try await pathways.kpis(by: principal)
        let definition = try await pathways.definition("radiotherapy", tenant: principal.tenant)
        func title(_ code: String) -> String { definition.stage(code)?.title.text(language) ?? code }
        func hours(_ value: Double?) -> String { value.map { $0 >= 48 ? String(format: "%.1f j", $0 / 24) : String(format: "%.0f h", $0) } ?? "—" }
        let longest = max(1, kpis.stages.compactMap(\.meanHours).max() ?? 1)
        let blockedMax = max(1, (kpis.blockedByRole.values.max() ?? 0), (kpis.blockedByMachine.values.max() ?? 0))
        let stages: [[String: Any]] = kpis.stages.map { figures in
            [
                "title": title(figures.stage), "mean": hours(figures.meanHours), "share": Int(((figures.meanHours ?? 0) / longest * 100).rounded()),
                "rollback": figures.rollbackRate.map { String(format: "%.0f %%", $0 * 100) } ?? "—", "rollbackShare": Int(((figures.rollbackRate ?? 0) * 100).rounded()),
            ]
        }
        let delays: [[String: Any]] = kpis.delays.map { delay in
            ["title": delay.title.text(language), "met": delay.met, "measured": delay.measured, "share": delay.measured == 0 ? 0 : delay.met * 100 / delay.measured]
        }
        let byRole: [[String: Any]] = kpis.blockedByRole.sorted { $0.value > $1.value }.map {
            ["name": renderer.text("role_\($0.key.rawValue)", language), "count": $0.value, "share": $0.value * 100 / blockedMax]
        }
        let byMachine: [[String: Any]] = kpis.blockedByMachine.sorted { $0.value > $1.value }.map { ["name": $0.key, "count": $0.value, "share": $0.value * 100 / blockedMax] }
        let stalled: [[String: Any]] = kpis.stalled.map { card in
            [
                "id": card.pathwayCase.id, "label": card.patientLabel, "stage": title(card.pathwayCase.stage), "days": String(format: "%.1f", card.hoursInStage / 24),
                "machine": card.machineName ?? "—",
            ]
        }
        return render(
            "pathway-dashboard", title: "dashboard_title", request, session: session,
            [
                "stages": stages, "firstSession": hours(kpis.prescriptionToFirstSessionHours), "delays": delays, "byRole": byRole, "byMachine": byMachine,
                "stalled": stalled,
            ])
    }
}
