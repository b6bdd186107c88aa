import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import PDF
import Storage

extension PathwaysService {
    /// The case's record as a PDF: identity, stage history with its signed validations,
    /// checklists and sessions (French, like the department's paper forms).
    public func exportPDF(_ caseID: String, by principal: Principal) async throws -> Data {
        let detail = try await detail(caseID, by: principal)
        let found = detail.pathwayCase
        let definition = detail.definition
        let tenant = principal.tenant
        let people = Set(detail.timeline.compactMap(\.who) + detail.sessions.compactMap(\.performer) + [found.referringPhysician].compactMap { $0 })
        let names = try await fhir.displayNames("Practitioner", ids: Array(people), tenant: tenant)
        let machine = try await found.machine.asyncMap { id in try await machines(of: found.hospital, tenant: tenant).first { $0.id == id }?.name ?? id }
        func stageTitle(_ code: String?) -> String { code.flatMap { definition.stage($0)?.title.fr } ?? (code ?? "") }
        func date(_ instant: String) -> String { FHIRDateTime.localDisplay(instant) }

        var document = PDFDocument(title: "Dossier \(definition.title.fr.lowercased()) \(detail.patientLabel)")
        document.heading("Dossier de \(definition.title.fr.lowercased()) — \(detail.patientLabel)")
        document.fields([
            ("Patient", FHIRStore.displayName(detail.patient)),
            ("Naissance", detail.patient["birthDate"]?.stringValue ?? "—"),
            ("Identifiants", (detail.patient["identifier"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue }.joined(separator: ", ")),
            ("Étape", stageTitle(found.stage) + (found.closed ? " (clos)" : "")),
            ("Priorité", found.priority.rawValue), ("Machine", machine ?? "—"), ("Protocole", found.protocolName ?? "—"),
            ("Pathologie", found.pathology ?? "—"), ("Médecin référent", found.referringPhysician.map { names[$0] ?? $0 } ?? "—"),
            ("Séances", "\(detail.sessions.count) / \(found.plannedSessions.map(String.init) ?? "—")"),
            ("Parcours", "version \(definition.version)"),
        ])
        document.heading("Historique et validations signées", level: 2)
        document.table(
            [PDFColumn("Date", width: 1.3), PDFColumn("Transition", width: 2.2), PDFColumn("Par", width: 1.6), PDFColumn("Commentaire", width: 2.2), PDFColumn("Signature", width: 1)],
            rows: detail.timeline.map { step in
                [
                    date(step.when), step.from.map { "\(stageTitle($0)) → \(stageTitle(step.to))" } ?? "Ouverture : \(stageTitle(step.to))",
                    "\(step.who.map { names[$0] ?? $0 } ?? "—") (\(step.role.flatMap(Role.init(rawValue:))?.title.fr ?? step.role ?? "—"))", step.comment ?? "",
                    step.signatureValid ? "valide (v\(step.taskVersion ?? 0))" : "INVALIDE",
                ]
            })
        document.heading("Check-lists", level: 2)
        document.table(
            [PDFColumn("Étape", width: 1.6), PDFColumn("Élément", width: 3), PDFColumn("Obligatoire", width: 1), PDFColumn("Coché", width: 0.8)],
            rows: detail.checklists.flatMap { list in
                list.items.map { [stageTitle(list.stage), $0.text.fr, $0.mandatory ? "oui" : "non", list.ticked.contains($0.code) ? "oui" : "—"] }
            })
        document.heading("Séances", level: 2)
        if detail.sessions.isEmpty {
            document.paragraph("Aucune séance délivrée.")
        } else {
            let items = Dictionary(uniqueKeysWithValues: (definition.sessions?.checklist ?? []).map { ($0.code, $0.text.fr) })
            document.table(
                [PDFColumn("N°", width: 0.5), PDFColumn("Date", width: 1.4), PDFColumn("Machine", width: 1.2), PDFColumn("Par", width: 1.6), PDFColumn("Check-list pré-séance", width: 3)],
                rows: detail.sessions.map { session in
                    [
                        String(session.number), date(session.performed), machine ?? session.machine ?? "—", session.performer.map { names[$0] ?? $0 } ?? "—",
                        session.checklist.sorted().map { items[$0] ?? $0 }.joined(separator: ", "),
                    ]
                })
        }
        document.space()
        document.paragraph("Document produit par Hygie le \(date(Self.instant(now()))). Les signatures sont vérifiables avec la clé publique du service (/api/v1/pathways/signing-key).", size: 8)
        try await fhir.record(
            AuditRecord(
                agent: principal.auditAgent, kind: .dicom(.export), action: .read, entities: ["Task/\(caseID)"], patients: [found.patient],
                detail: "pathway case PDF export"), tenant: tenant)
        return document.render()
    }
}
