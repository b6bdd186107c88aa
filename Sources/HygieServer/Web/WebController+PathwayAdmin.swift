import Access
import Core
import Foundation
import Hummingbird
import Identity
import Pathways

/// The admin page of a pathway's definition (issue 6): per stage, the roles that may move a
/// case into it, the stages it may move on to, how long a case may stay (its target) and its
/// checklist. Each form saves a new
/// version at once; the next transition anywhere is checked against it.
extension WebController {
    func addPathwayAdminPages(to router: Router<AppRequestContext>) {
        router.get("/admin/pathways", use: page { request, context in
            try await signedIn(request, context) { session in try await pathwayAdminPage(request, session, context) }
        })
        router.post("/admin/pathways/:part", use: page { request, context in
            try await signedIn(request, context) { session in
                let fields = try await Self.formValues(request)
                let form = Dictionary(fields, uniquingKeysWith: { first, _ in first })
                guard form["_csrf"] == session.csrfToken else { return errorPage(request, session, "error_csrf", .forbidden) }
                let principal = principal(session, context)
                let stage = form["stage"] ?? ""
                let values = fields.filter { $0.0 == "value" }.map(\.1)
                do {
                    switch try context.parameters.require("part") {
                    case "roles":
                        let roles = values.compactMap(Role.init(rawValue:))
                        try await pathways.editDefinition("radiotherapy", by: principal, detail: "roles of \(stage)") { definition in
                            try definition.setRoles(roles, of: stage)
                        }
                    case "transitions":
                        try await pathways.editDefinition("radiotherapy", by: principal, detail: "transitions from \(stage)") { definition in
                            try definition.replaceTransitions(from: stage, to: values)
                        }
                    case "target":
                        let text = (form["hours"] ?? "").trimmingCharacters(in: .whitespaces)
                        guard text.isEmpty || Int(text) != nil else { throw ServiceError.invalid("A stage's target is a whole number of hours.") }
                        try await pathways.editDefinition("radiotherapy", by: principal, detail: "target of \(stage)") { definition in
                            try definition.setTargetHours(Int(text), of: stage)
                        }
                    case "checklist":
                        // Rows: code, French text, English text, mandatory; a row without text is removed.
                        let codes = fields.filter { $0.0 == "code" }.map(\.1)
                        let french = fields.filter { $0.0 == "text_fr" }.map(\.1)
                        let english = fields.filter { $0.0 == "text_en" }.map(\.1)
                        let mandatory = Set(fields.filter { $0.0 == "mandatory" }.map(\.1))
                        let items = codes.indices.compactMap { index -> PathwayDefinition.ChecklistItem? in
                            let text = index < french.count ? french[index].trimmingCharacters(in: .whitespaces) : ""
                            guard !text.isEmpty else { return nil }
                            let code = codes[index].isEmpty ? Self.code(from: text) : codes[index]
                            let translation = index < english.count && !english[index].isEmpty ? english[index] : text
                            return PathwayDefinition.ChecklistItem(
                                code: code, text: LocalizedText(fr: text, en: translation), mandatory: mandatory.contains(codes[index].isEmpty ? "new" : code))
                        }
                        try await pathways.editDefinition("radiotherapy", by: principal, detail: "checklist of \(stage)") { definition in
                            try definition.setChecklist(items, of: stage)
                        }
                    default:
                        return errorPage(request, session, "error_not_found", .notFound)
                    }
                } catch let error as ServiceError {
                    return try await pathwayAdminPage(request, session, context, error: message(error, request))
                }
                return Response.redirect(to: "/admin/pathways?saved=1#stage-\(stage)", type: .found)
            }
        })
    }

    /// A checklist code made from its French text: "Dose in vivo vérifiée" → "dose-in-vivo-verifiee".
    static func code(from text: String) -> String {
        let folded = text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).lowercased()
        let words = folded.split { !($0.isLetter || $0.isNumber) }.map(String.init)
        return String(words.joined(separator: "-").unicodeScalars.filter { $0.isASCII }.prefix(64))
    }

    func pathwayAdminPage(_ request: Request, _ session: WebSession, _ context: AppRequestContext, error: String? = nil) async throws -> Response {
        let principal = principal(session, context)
        guard [.superAdmin, .hospitalAdmin].contains(principal.role) else { return errorPage(request, session, "error_forbidden", .forbidden) }
        let language = WebRenderer.language(request)
        let definition = try await pathways.definition("radiotherapy", tenant: principal.tenant)
        let careRoles: [Role] = [.physician, .radiotherapyTechnologist, .medicalPhysicist, .dosimetrist, .coordinator, .nurse]
        let stages: [[String: Any]] = definition.stages.map { stage in
            [
                "code": stage.code, "title": stage.title.text(language), "summary": stage.summary.text(language),
                "roles": careRoles.map { ["value": $0.rawValue, "label": renderer.text("role_\($0.rawValue)", language), "checked": stage.roles.contains($0)] },
                "targets": definition.stages.filter { $0.code != stage.code }.map { target in
                    [
                        "value": target.code, "label": target.title.text(language),
                        "checked": definition.transition(from: stage.code, to: target.code) != nil,
                        "backward": definition.isBackward(from: stage.code, to: target.code),
                    ]
                },
                "hours": stage.targetHours.map(String.init) ?? "",
                "items": stage.checklist.map { ["code": $0.code, "fr": $0.text.fr, "en": $0.text.en, "mandatory": $0.mandatory] },
            ]
        }
        return render(
            "pathway-admin", title: "pathway_admin_title", request, session: session,
            ["stages": stages, "version": definition.version, "pathway": definition.title.text(language)], error: error,
            flash: request.uri.queryParameters["saved"] != nil ? renderer.text("pathway_admin_saved", language) : nil)
    }
}
