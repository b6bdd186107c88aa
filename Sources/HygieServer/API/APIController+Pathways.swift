import Access
import Core
import FHIR
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Pathways

/// `/api/v1/pathways` (cases, checklists, sessions, machines, QA) and
/// `/api/v1/admin/pathways` (the definitions) for issue 6. The rules are Pathways'.
extension APIController {
    func addPathwayRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("pathways/cases", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            let priority = try parameters["priority"].map { text in
                guard let priority = PathwayCase.Priority(rawValue: String(text)) else { throw ServiceError.invalid("Unknown priority \(text).") }
                return priority
            }
            let filter = CaseFilter(
                pathway: parameters["pathway"].map(String.init) ?? "radiotherapy", stage: parameters["stage"].map(String.init), priority: priority,
                pathology: parameters["pathology"].map(String.init), machine: parameters["machine"].map(String.init),
                referringPhysician: parameters["referring_physician"].map(String.init), includeClosed: parameters["closed"] != "false")
            let board = try await pathways.board(filter, by: principal)
            return try json(["items": board.cards.map(CaseCardView.init)])
        })
        api.post("pathways/cases", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(NewCaseBody.self, request, context)
            let opened = try await pathways.open(try body.newCase(), by: principal)
            return try json(CaseDetailView(try await pathways.detail(opened.id, by: principal), language: WebRenderer.language(request)), status: .created)
        })
        api.get("pathways/cases/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            let detail = try await pathways.detail(try context.parameters.require("id"), by: principal)
            return try json(CaseDetailView(detail, language: WebRenderer.language(request)))
        })
        api.post("pathways/cases/:id/transition", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(TransitionBody.self, request, context)
            let id = try context.parameters.require("id")
            _ = try await pathways.move(id, to: body.to, comment: body.comment, expectedVersion: body.version, by: principal)
            return try json(CaseDetailView(try await pathways.detail(id, by: principal), language: WebRenderer.language(request)))
        })
        api.put("pathways/cases/:id/checklists/:stage", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(ChecklistBody.self, request, context)
            let ticked = try await pathways.tick(
                try context.parameters.require("id"), stage: try context.parameters.require("stage"), items: body.items, by: principal)
            return try json(ticked.mapValues { $0.sorted() })
        })
        api.post("pathways/cases/:id/sessions", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(SessionBody.self, request, context)
            let session = try await pathways.recordSession(try context.parameters.require("id"), checklist: Set(body.checklist), note: body.note, by: principal)
            return try json(
                CaseDetailView.SessionView(
                    id: session.id, number: session.number, performed: session.performed, machine: session.machine, practitioner: session.performer,
                    checklist: session.checklist.sorted()), status: .created)
        })
        api.get("pathways/cases/:id/comments", use: wrap { request, context in
            let principal = try await principal(request, context)
            return try json(["items": try await pathways.comments(try context.parameters.require("id"), by: principal).map(CommentView.init)])
        })
        api.post("pathways/cases/:id/comments", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(CommentBody.self, request, context)
            guard let visibility = CommentVisibility(rawValue: body.visibility ?? "team") else {
                throw ServiceError.invalid("\"visibility\" is team, physicists or physicians.")
            }
            let comment = try await pathways.comment(
                try context.parameters.require("id"), text: body.text, visibility: visibility, mentions: body.mentions ?? [],
                attachments: try body.decodedAttachments(),
                by: principal)
            return try json(CommentView(comment), status: .created)
        })
        api.get("pathways/cases/:id/comments/:comment/attachments/:index", use: wrap { request, context in
            let principal = try await principal(request, context)
            guard let index = Int(try context.parameters.require("index")) else { throw ServiceError.notFound("Attachment") }
            let attachment = try await pathways.attachment(
                try context.parameters.require("id"), comment: try context.parameters.require("comment"), index: index, by: principal)
            return Self.download(attachment)
        })
        api.get("pathways/staff", use: wrap { request, context in
            let principal = try await principal(request, context)
            let members = try await pathways.department(matching: request.uri.queryParameters["q"].map(String.init), by: principal)
            return try json(["items": members.map { ["practitioner": $0.practitioner, "name": $0.name, "role": $0.role.rawValue] }])
        })
        api.get("pathways/cases/:id/fhir", use: wrap { request, context in
            let principal = try await principal(request, context)
            let bundle = try await pathways.exportBundle(try context.parameters.require("id"), baseURL: store.baseURL, by: principal)
            return Response(
                status: .ok, headers: [.contentType: "application/fhir+json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(bundle))))
        })
        api.get("pathways/cases/:id/export.pdf", use: wrap { request, context in
            let principal = try await principal(request, context)
            let id = try context.parameters.require("id")
            let pdf = try await pathways.exportPDF(id, by: principal)
            return Response(
                status: .ok,
                headers: [.contentType: "application/pdf", .contentDisposition: "attachment; filename=\"dossier-\(id).pdf\"", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
        })
        api.get("pathways/kpis", use: wrap { request, context in
            let principal = try await principal(request, context)
            let kpis = try await pathways.kpis(pathway: request.uri.queryParameters["pathway"].map(String.init) ?? "radiotherapy", by: principal)
            return try json(KPIView(kpis))
        })
        api.get("pathways/signing-key", use: wrap { request, context in
            let principal = try await principal(request, context)
            return try json(["keys": [try pathways.signingPublicKey(tenant: principal.tenant)]])
        })
        addMachineRoutes(to: api)
        addPathwayAdminRoutes(to: api)
    }

    func addMachineRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("pathways/machines", use: wrap { request, context in
            let principal = try await principal(request, context)
            var views: [MachineView] = []
            for machine in try await pathways.machines(by: principal) {
                let status = try await pathways.qaStatus(of: machine.id, by: principal)
                views.append(MachineView(id: machine.id, name: machine.name, qa_today: status.state.rawValue, qa_report: status.report, qa_worst: status.worst?.rawValue))
            }
            return try json(["items": views])
        })
        api.post("pathways/machines", use: wrap { request, context in
            let principal = try await principal(request, context)
            let machine = try await pathways.addMachine(name: try await decode(MachineBody.self, request, context).name, by: principal)
            return try json(MachineView(id: machine.id, name: machine.name, qa_today: QAStatus.State.missing.rawValue, qa_report: nil, qa_worst: nil), status: .created)
        })
        api.get("pathways/machines/:id/qa-lists/:frequency", use: wrap { request, context in
            let principal = try await principal(request, context)
            let list = try await pathways.qaList(try context.parameters.require("id"), try frequency(context), by: principal)
            return try snakeJSON(list)
        })
        api.put("pathways/machines/:id/qa-lists/:frequency", use: wrap { request, context in
            let principal = try await principal(request, context)
            var list = try await decodeSnake(QATestList.self, request, context)
            list.frequency = try frequency(context)
            return try snakeJSON(try await pathways.saveQAList(try context.parameters.require("id"), list, by: principal))
        })
        api.get("pathways/machines/:id/qa", use: wrap { request, context in
            let principal = try await principal(request, context)
            let id = try context.parameters.require("id")
            let status = try await pathways.qaStatus(of: id, by: principal)
            let history = try await pathways.qaHistory(id, by: principal)
            return try json(QAPageView(machine: id, day: status.day, today: status.state.rawValue, sessions: history.map(QASessionView.init)))
        })
        api.post("pathways/machines/:id/qa", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(QABody.self, request, context)
            guard let frequency = QATestList.Frequency(rawValue: body.frequency ?? "daily") else { throw ServiceError.invalid("\"frequency\" is daily or weekly.") }
            let session = try await pathways.recordQA(
                try context.parameters.require("id"), frequency: frequency, results: body.results.map { QAResultInput(test: $0.test, value: $0.value.value) },
                validate: body.validate ?? false, by: principal)
            return try json(QASessionView(session), status: .created)
        })
        api.post("pathways/machines/:id/qa/:report/validate", use: wrap { request, context in
            let principal = try await principal(request, context)
            let session = try await pathways.validateQA(try context.parameters.require("id"), report: try context.parameters.require("report"), by: principal)
            return try json(QASessionView(session))
        })
    }

    func addPathwayAdminRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("admin/pathways", use: wrap { request, context in
            let principal = try await principal(request, context)
            guard [.superAdmin, .hospitalAdmin, .coordinator].contains(principal.role) else { throw ServiceError.forbidden }
            return try snakeJSON(["items": try await pathways.definitions(tenant: principal.tenant)])
        })
        api.get("admin/pathways/:code", use: wrap { request, context in
            let principal = try await principal(request, context)
            guard [.superAdmin, .hospitalAdmin, .coordinator].contains(principal.role) else { throw ServiceError.forbidden }
            return try snakeJSON(try await pathways.definition(try context.parameters.require("code"), tenant: principal.tenant))
        })
        api.put("admin/pathways/:code/transitions", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(TransitionsBody.self, request, context)
            let edited = try await pathways.editDefinition(try context.parameters.require("code"), by: principal, detail: "transitions from \(body.from)") {
                definition in try definition.replaceTransitions(from: body.from, to: body.to)
            }
            return try snakeJSON(edited)
        })
        api.put("admin/pathways/:code/roles", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(RolesBody.self, request, context)
            let roles = try body.roles.map { text in
                guard let role = Role(rawValue: text), role.isStaff, role != .superAdmin, role != .hospitalAdmin else {
                    throw ServiceError.invalid("\(text) is not a care role.")
                }
                return role
            }
            let edited = try await pathways.editDefinition(try context.parameters.require("code"), by: principal, detail: "roles of \(body.stage)") {
                definition in try definition.setRoles(roles, of: body.stage)
            }
            return try snakeJSON(edited)
        })
        api.put("admin/pathways/:code/checklist", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(ChecklistDefinitionBody.self, request, context)
            let edited = try await pathways.editDefinition(try context.parameters.require("code"), by: principal, detail: "checklist of \(body.stage)") {
                definition in
                try definition.setChecklist(
                    body.items.map {
                        PathwayDefinition.ChecklistItem(code: $0.code, text: LocalizedText(fr: $0.text_fr, en: $0.text_en ?? $0.text_fr), mandatory: $0.mandatory)
                    }, of: body.stage)
            }
            return try snakeJSON(edited)
        })
        api.put("admin/pathways/:code/target", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(TargetBody.self, request, context)
            let edited = try await pathways.editDefinition(try context.parameters.require("code"), by: principal, detail: "target of \(body.stage)") {
                definition in try definition.setTargetHours(body.hours, of: body.stage)
            }
            return try snakeJSON(edited)
        })
        api.put("admin/pathways/:code/delays", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(DelaysBody.self, request, context)
            let edited = try await pathways.editDefinition(try context.parameters.require("code"), by: principal, detail: "regulatory delays") {
                definition in
                definition.regulatoryDelays = try body.delays.map { delay in
                    guard delay.hours > 0, delay.hours <= 24 * 365 else { throw ServiceError.invalid("A delay's \"hours\" is between 1 and 8760.") }
                    return PathwayDefinition.RegulatoryDelay(
                        code: delay.code, title: LocalizedText(fr: delay.title_fr, en: delay.title_en ?? delay.title_fr), from: delay.from, to: delay.to,
                        hours: delay.hours)
                }
            }
            return try snakeJSON(edited)
        })
    }

    /// A comment's attachment as a download, never sniffed or shown inline by the browser.
    static func download(_ attachment: CaseComment.Attachment) -> Response {
        let name = attachment.title.isEmpty ? "piece-jointe" : attachment.title.replacingOccurrences(of: "\"", with: "")
        return Response(
            status: .ok,
            headers: [
                .contentType: attachment.contentType, .contentDisposition: "attachment; filename=\"\(name)\"", .cacheControl: "no-store",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: attachment.data)))
    }

    func frequency(_ context: AppRequestContext) throws -> QATestList.Frequency {
        let text = try context.parameters.require("frequency")
        guard let frequency = QATestList.Frequency(rawValue: text) else { throw ServiceError.notFound("QA list \(text)") }
        return frequency
    }

    /// JSON with snake_case keys, for the Pathways types whose Swift names are camelCase.
    func snakeJSON(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    func decodeSnake<T: Decodable>(_ type: T.Type, _ request: Request, _ context: AppRequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw ServiceError.invalid("The body is not the JSON this endpoint expects (\(Self.describe(error))).")
        }
    }
}

struct QAPageView: Encodable {
    let machine: String
    let day: String
    let today: String
    let sessions: [QASessionView]
}
