import Access
import Core
import FHIR
import Foundation
import Hummingbird
import Identity
import Records

/// The patient chart: identity, care team, the record's timeline (newest first, filtered by
/// kind), entry forms for the linked physician, and each entry's history.
extension WebController {
    func addChartRoutes(to router: Router<AppRequestContext>) {
        router.get("/patients/:id", use: page { request, context in
            try await signedIn(request, context) { session in
                try await chartPage(request, session, principal(session, context), patient: context.parameters.get("id") ?? "")
            }
        })
        router.post("/patients/:id/entries", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let principal = principal(session, context)
                let patient = context.parameters.get("id") ?? ""
                do {
                    let entry = try Self.entry(from: form, patient: patient, kind: nil)
                    _ = try await records.create(entry, by: principal)
                } catch let error as ServiceError {
                    return try await chartPage(request, session, principal, patient: patient, error: message(error, request), form: form, warning: error.code == "allergy-warning")
                }
                return Response.redirect(to: "/patients/\(patient)?done=saved", type: .found)
            }
        })
        router.get("/patients/:id/entries/:kind/:entry", use: page { request, context in
            try await signedIn(request, context) { session in
                try await entryPage(request, session, principal(session, context), patient: context.parameters.get("id") ?? "",
                    kind: context.parameters.get("kind") ?? "", id: context.parameters.get("entry") ?? "")
            }
        })
        router.post("/patients/:id/entries/:kind/:entry", use: page { request, context in
            try await signedIn(request, context, form: true) { session, form in
                let principal = principal(session, context)
                let patient = context.parameters.get("id") ?? ""
                let id = context.parameters.get("entry") ?? ""
                guard let kind = RecordKind(rawValue: context.parameters.get("kind") ?? "") else { return errorPage(request, session, "error_not_found", .notFound) }
                do {
                    var entry = try Self.entry(from: form, patient: patient, kind: kind)
                    entry.version = Int(form["version"] ?? "")
                    _ = try await records.update(kind, id, entry, by: principal)
                } catch let error as ServiceError {
                    return try await entryPage(request, session, principal, patient: patient, kind: kind.rawValue, id: id, error: message(error, request), warning: error.code == "allergy-warning")
                }
                return Response.redirect(to: "/patients/\(patient)/entries/\(kind.rawValue)/\(id)?done=saved", type: .found)
            }
        })
        router.post("/patients/:id/entries/:kind/:entry/delete", use: page { request, context in
            try await signedIn(request, context, form: true) { session, _ in
                let principal = principal(session, context)
                let patient = context.parameters.get("id") ?? ""
                guard let kind = RecordKind(rawValue: context.parameters.get("kind") ?? "") else { return errorPage(request, session, "error_not_found", .notFound) }
                do {
                    try await records.delete(kind, context.parameters.get("entry") ?? "", by: principal)
                } catch let error as ServiceError {
                    return try await chartPage(request, session, principal, patient: patient, error: message(error, request))
                }
                return Response.redirect(to: "/patients/\(patient)?done=deleted", type: .found)
            }
        })
    }

    func chartPage(
        _ request: Request, _ session: WebSession, _ principal: Principal, patient: String, error: String? = nil, form: [String: String]? = nil,
        warning: Bool = false
    ) async throws -> Response {
        let language = WebRenderer.language(request)
        let card: RecordsService.PatientCard
        do {
            card = try await records.patient(patient, by: principal)
        } catch let error as ServiceError where error.status == 404 || error.status == 403 {
            return errorPage(request, session, "error_not_found", .notFound)
        }
        let kind = request.uri.queryParameters["kind"].map(String.init).flatMap { RecordKind(rawValue: $0) }
        let entries = try await records.entries(patient: patient, kind: kind, limit: 200, cursor: nil, by: principal).items
        let editable = principal.role == .physician && card.careTeam.contains { $0.id == principal.practitioner }
        let filters = [["code": "", "label": renderer.text("kind_all", language), "current": kind == nil]]
            + RecordKind.allCases.map { ["code": $0.rawValue, "label": renderer.text("kind_\($0.rawValue)", language), "current": $0 == kind] }
        var values: [String: Any] = [
            "patient": patient, "name": card.name,
            "identity": ([card.birthDate.map { renderer.text("born_on", language) + " " + Self.display($0) }, card.gender.map { renderer.text("gender_\($0)", language) }]
                .compactMap { $0 } + card.identifiers).joined(separator: " · "),
            "team": card.careTeam.map { ["name": $0.name] }, "entries": entryRows(entries, language, patient: patient, editable: editable),
            "filters": filters, "editable": editable, "kinds": kindOptions(language, selected: form?["kind"]), "warning": warning,
        ]
        if let form { values["form"] = form }
        let flash = request.uri.queryParameters["done"].map { renderer.text("done_\($0)", language) }
        return render("chart", title: "chart_title", request, session: session, values, error: error, flash: flash)
    }

    func entryPage(
        _ request: Request, _ session: WebSession, _ principal: Principal, patient: String, kind: String, id: String, error: String? = nil,
        warning: Bool = false
    ) async throws -> Response {
        let language = WebRenderer.language(request)
        guard let kind = RecordKind(rawValue: kind) else { return errorPage(request, session, "error_not_found", .notFound) }
        let versions: [(entry: RecordEntry?, method: String, updated: String, version: Int)]
        do {
            versions = try await records.history(kind, id, by: principal)
        } catch let error as ServiceError where error.status == 404 || error.status == 403 {
            return errorPage(request, session, "error_not_found", .notFound)
        }
        let current = versions.first?.entry
        let card = try await records.patient(patient, by: principal)
        let editable = current != nil && principal.role == .physician && card.careTeam.contains { $0.id == principal.practitioner }
        let history = versions.map { version -> [String: Any] in
            [
                "version": version.version, "updated": Self.display(version.updated), "deleted": version.entry == nil,
                "summary": version.entry.map { entrySummary($0, language) } ?? renderer.text("entry_deleted", language),
                "method": renderer.text(version.method == "DELETE" ? "entry_deleted" : version.version == 1 ? "entry_created" : "entry_edited", language),
            ]
        }
        var values: [String: Any] = [
            "patient": patient, "name": card.name, "kindLabel": renderer.text("kind_\(kind.rawValue)", language), "kind": kind.rawValue, "id": id,
            "history": history, "editable": editable, "warning": warning, "kinds": kindOptions(language, selected: kind.rawValue),
        ]
        if let current { values["form"] = formValues(current) }
        let flash = request.uri.queryParameters["done"].map { renderer.text("done_\($0)", language) }
        return render("entry", title: "entry_title", request, session: session, values, error: error, flash: flash)
    }

    func kindOptions(_ language: String, selected: String?) -> [[String: Any]] {
        RecordKind.allCases.map { ["code": $0.rawValue, "label": renderer.text("kind_\($0.rawValue)", language), "selected": $0.rawValue == (selected ?? "consultation")] }
    }

    func entryRows(_ entries: [RecordEntry], _ language: String, patient: String, editable: Bool) -> [[String: Any]] {
        entries.map { entry in
            [
                "id": entry.id ?? "", "kind": entry.kind.rawValue, "kindLabel": renderer.text("kind_\(entry.kind.rawValue)", language),
                "date": Self.display(entry.date ?? entry.updated), "title": entry.title, "detail": entrySummary(entry, language),
                "author": entry.authorName ?? "", "patient": patient, "editable": editable,
            ]
        }
    }

    /// One line of what an entry says beyond its title.
    func entrySummary(_ entry: RecordEntry, _ language: String) -> String {
        var parts: [String] = []
        if entry.kind != .consultation, let status = entry.status { parts.append(renderer.text("entry_status_\(status)", language)) }
        if let value = entry.value { parts.append([value, entry.unit].compactMap { $0 }.joined(separator: " ")) }
        if let dosage = entry.dosage { parts.append(dosage) }
        if let end = entry.periodEnd { parts.append(renderer.text("until", language) + " " + Self.display(end)) }
        if let renewal = entry.renewalDate { parts.append(renderer.text("renewal", language) + " " + Self.display(renewal)) }
        if let criticality = entry.criticality { parts.append(renderer.text("criticality_\(criticality)", language)) }
        if let reaction = entry.reaction { parts.append(reaction) }
        if let lot = entry.lot { parts.append(renderer.text("lot", language) + " " + lot) }
        if let code = entry.code { parts.append(code.code) }
        if let note = entry.note, !note.isEmpty { parts.append(note) }
        return parts.joined(separator: " · ")
    }

    func formValues(_ entry: RecordEntry) -> [String: String] {
        var values: [String: String] = [
            "kind": entry.kind.rawValue, "title": entry.title, "date": String((entry.date ?? "").prefix(10)), "code": entry.code?.code ?? "",
            "status": entry.status ?? "", "note": entry.note ?? "", "dosage": entry.dosage ?? "", "period_start": entry.periodStart ?? "",
            "period_end": entry.periodEnd ?? "", "renewal_date": entry.renewalDate ?? "", "criticality": entry.criticality ?? "",
            "reaction": entry.reaction ?? "", "value": entry.value ?? "", "unit": entry.unit ?? "", "lot": entry.lot ?? "",
        ]
        values["version"] = entry.version.map(String.init) ?? ""
        if let status = entry.status { values["sel_status_\(status)"] = "selected" }
        if let criticality = entry.criticality { values["sel_crit_\(criticality)"] = "selected" }
        return values
    }

    /// An entry from the chart's form; the code's system follows the kind (ATC for drugs and
    /// allergies, LOINC for results, ICD-10 for problems).
    static func entry(from form: [String: String], patient: String, kind fixed: RecordKind?) throws -> RecordEntry {
        guard let kind = fixed ?? RecordKind(rawValue: form["kind"] ?? "") else { throw ServiceError.invalid("Choose a kind of entry.") }
        var entry = RecordEntry(kind: kind, patient: patient, title: form["title"] ?? "")
        entry.date = optional(form["date"])
        entry.note = optional(form["note"])
        entry.status = optional(form["status"])
        if let code = optional(form["code"]) {
            let system: String? =
                switch kind {
                case .allergy, .medication: EntryCode.atc
                case .observation: EntryCode.loinc
                case .condition: "http://hl7.org/fhir/sid/icd-10"
                default: nil
                }
            if let system { entry.code = EntryCode(system: system, code: code) }
        }
        if kind == .medication {
            entry.dosage = optional(form["dosage"])
            entry.periodStart = optional(form["period_start"])
            entry.periodEnd = optional(form["period_end"])
            entry.renewalDate = optional(form["renewal_date"])
            entry.acknowledgeAllergies = form["acknowledge_allergies"] == "on"
        }
        if kind == .allergy {
            entry.criticality = optional(form["criticality"])
            entry.reaction = optional(form["reaction"])
        }
        if kind == .observation {
            entry.value = optional(form["value"])
            entry.unit = optional(form["unit"])
        }
        if kind == .immunization { entry.lot = optional(form["lot"]) }
        if kind == .consultation || kind == .immunization || kind == .observation { entry.status = nil }
        return entry
    }
}
