import Access
import Core
import FHIR
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import NIOCore
import Pathways

/// The radiotherapy pages (issue 6): the board (drag a card to move it; the server decides and
/// the page says why not), the case page (identity, signed timeline, checklists, moves,
/// sessions, comments with @mentions) and the machines' QA page. The rules are Pathways'.
extension WebController {
    func addPathwayRoutes(to router: Router<AppRequestContext>) {
        router.get("/pathways", use: page { request, context in
            try await signedIn(request, context) { session in try await boardPage(request, session, context) }
        })
        // The board's drag and drop: JSON in, JSON out, the session's CSRF token in a header.
        router.post("/pathways/cases/:id/move", use: page { request, context in
            try await signedIn(request, context) { session in
                guard request.headers[HTTPField.Name("X-CSRF-Token")!] == session.csrfToken else {
                    return ProblemResponse.make(403, code: "csrf", detail: "The page's CSRF token is missing or stale: reload the page.")
                }
                let body = try JSONDecoder().decode(MoveForm.self, from: Data(try await request.body.collect(upTo: 16 * 1024).readableBytesView))
                let id = try context.parameters.require("id")
                let principal = principal(session, context)
                let language = WebRenderer.language(request)
                do {
                    _ = try await pathways.move(id, to: body.to, comment: body.comment, expectedVersion: body.version, by: principal)
                    return try jsonResponse(["moved": true], status: .ok)
                } catch let error as ServiceError where error.code == "transition-refused" {
                    let reasons = try await pathways.refusals(moving: id, to: body.to, comment: body.comment, by: principal)
                    return try jsonResponse(["reasons": reasons.map { $0.text.text(language) }], status: .init(code: error.status))
                } catch let error as ServiceError {
                    return try jsonResponse(["reasons": [message(error, request)]], status: .init(code: error.status))
                }
            }
        })
        router.get("/pathways/dashboard", use: page { request, context in
            try await signedIn(request, context) { session in try await dashboardPage(request, session, context) }
        })
        router.get("/pathways/new", use: page { request, context in
            try await signedIn(request, context) { session in try await newCasePage(request, session, context) }
        })
        router.post("/pathways/cases", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let principal = principal(session, context)
                do {
                    let opened = try await pathways.open(
                        NewCase(
                            patient: form["patient"] ?? "", priority: PathwayCase.Priority(rawValue: form["priority"] ?? "") ?? .routine,
                            machine: form["machine"].flatMap { $0.isEmpty ? nil : $0 }, protocolName: form["protocol"], pathology: form["pathology"],
                            referringPhysician: form["referrer"].flatMap { $0.isEmpty ? nil : $0 },
                            plannedSessions: form["sessions"].flatMap { Int($0) }), by: principal)
                    return Response.redirect(to: "/pathways/cases/\(opened.id)", type: .found)
                } catch let error as ServiceError {
                    return try await newCasePage(request, session, context, error: message(error, request))
                }
            }
        })
        router.get("/pathways/cases/:id", use: page { request, context in
            try await signedIn(request, context) { session in try await casePage(request, session, context, id: try context.parameters.require("id")) }
        })
        router.post("/pathways/cases/:id/transition", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let id = try context.parameters.require("id")
                let principal = principal(session, context)
                let target = form["to"] ?? ""
                do {
                    _ = try await pathways.move(id, to: target, comment: form["comment"], by: principal)
                } catch let error as ServiceError where error.code == "transition-refused" {
                    let reasons = try await pathways.refusals(moving: id, to: target, comment: form["comment"], by: principal)
                    return try await casePage(request, session, context, id: id, errors: reasons.map { $0.text.text(WebRenderer.language(request)) })
                } catch let error as ServiceError {
                    return try await casePage(request, session, context, id: id, errors: [message(error, request)])
                }
                return Response.redirect(to: "/pathways/cases/\(id)", type: .found)
            }
        })
        router.post("/pathways/cases/:id/checklist", use: page { request, context in
            try await signedIn(request, context) { session in
                let fields = try await Self.formValues(request)
                let form = Dictionary(fields, uniquingKeysWith: { first, _ in first })
                guard form["_csrf"] == session.csrfToken else { return errorPage(request, session, "error_csrf", .forbidden) }
                let id = try context.parameters.require("id")
                let ticked = Set(fields.filter { $0.0 == "item" }.map(\.1))
                let all = Set(fields.filter { $0.0 == "present" }.map(\.1))
                do {
                    _ = try await pathways.tick(
                        id, stage: form["stage"] ?? "", items: Dictionary(uniqueKeysWithValues: all.map { ($0, ticked.contains($0)) }),
                        by: principal(session, context))
                } catch let error as ServiceError {
                    return try await casePage(request, session, context, id: id, errors: [message(error, request)])
                }
                return Response.redirect(to: "/pathways/cases/\(id)#checklists", type: .found)
            }
        })
        router.post("/pathways/cases/:id/session", use: page { request, context in
            try await signedIn(request, context) { session in
                let fields = try await Self.formValues(request)
                let form = Dictionary(fields, uniquingKeysWith: { first, _ in first })
                guard form["_csrf"] == session.csrfToken else { return errorPage(request, session, "error_csrf", .forbidden) }
                let id = try context.parameters.require("id")
                let principal = principal(session, context)
                do {
                    _ = try await pathways.recordSession(id, checklist: Set(fields.filter { $0.0 == "item" }.map(\.1)), note: form["note"], by: principal)
                } catch let error as ServiceError where error.code == "session-refused" {
                    let reasons = try await pathways.sessionRefusals(id, checklist: Set(fields.filter { $0.0 == "item" }.map(\.1)), by: principal)
                    return try await casePage(request, session, context, id: id, errors: reasons.map { $0.text.text(WebRenderer.language(request)) })
                } catch let error as ServiceError {
                    return try await casePage(request, session, context, id: id, errors: [message(error, request)])
                }
                return Response.redirect(to: "/pathways/cases/\(id)#sessions", type: .found)
            }
        })
        router.post("/pathways/cases/:id/comments", use: page { request, context in
            try await signedIn(request, context) { session in
                guard request.headers[HTTPField.Name("X-CSRF-Token")!] == session.csrfToken else {
                    return ProblemResponse.make(403, code: "csrf", detail: "The page's CSRF token is missing or stale: reload the page.")
                }
                let body = try JSONDecoder().decode(
                    CommentBody.self, from: Data(try await request.body.collect(upTo: 8 * 1024 * 1024).readableBytesView))
                do {
                    let attachments = try body.decodedAttachments()
                    _ = try await pathways.comment(
                        try context.parameters.require("id"), text: body.text, visibility: CommentVisibility(rawValue: body.visibility ?? "team") ?? .team,
                        mentions: body.mentions ?? [], attachments: attachments, by: principal(session, context))
                    return try jsonResponse(["posted": true], status: .created)
                } catch let error as ServiceError {
                    return try jsonResponse(["reasons": [message(error, request)]], status: .init(code: error.status))
                }
            }
        })
        router.get("/pathways/cases/:id/comments/:comment/attachments/:index", use: page { request, context in
            try await signedIn(request, context) { session in
                do {
                    let attachment = try await pathways.attachment(
                        try context.parameters.require("id"), comment: try context.parameters.require("comment"),
                        index: Int(try context.parameters.require("index")) ?? -1, by: principal(session, context))
                    return APIController.download(attachment)
                } catch let error as ServiceError where error.status == 404 {
                    return errorPage(request, session, "error_not_found", .notFound)
                }
            }
        })
        router.get("/pathways/staff.json", use: page { request, context in
            try await signedIn(request, context) { session in
                let members = try await pathways.department(matching: request.uri.queryParameters["q"].map(String.init), by: principal(session, context))
                let language = WebRenderer.language(request)
                return try jsonResponse(members.prefix(10).map { ["id": $0.practitioner, "name": $0.name, "role": $0.role.title.text(language)] })
            }
        })
        router.get("/pathways/cases/:id/export.pdf", use: page { request, context in
            try await signedIn(request, context) { session in
                let id = try context.parameters.require("id")
                do {
                    let pdf = try await pathways.exportPDF(id, by: principal(session, context))
                    return Response(
                        status: .ok, headers: [.contentType: "application/pdf", .contentDisposition: "attachment; filename=\"dossier-\(id).pdf\""],
                        body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
                } catch let error as ServiceError where error.status == 404 {
                    return errorPage(request, session, "error_not_found", .notFound)
                }
            }
        })
        addMachinePages(to: router)
    }

    func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
    }
}

struct MoveForm: Decodable {
    let to: String
    let comment: String?
    let version: Int?
}
