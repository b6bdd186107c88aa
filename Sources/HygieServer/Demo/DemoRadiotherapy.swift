import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Identity
import Logging
import Pathways
import Synchronization

/// The radiotherapy department of the demonstration (issue 6), at Nice: its five professions,
/// two machines (one failing today's QA), and forty cases spread over the eight stages with
/// their signed histories, some of them overdue. Made through Pathways' own service, with a
/// clock set back so that the histories span the past weeks.
enum DemoRadiotherapy {
    /// A clock the loader moves: each case's history is written in the past, step by step.
    final class DemoClock: WallClock {
        let current: Mutex<Date>
        init(_ date: Date) { current = Mutex(date) }
        func now() -> Date { current.withLock { $0 } }
        func set(_ date: Date) { current.withLock { $0 = date } }
    }

    static let names: [(String, String)] = [
        ("Alain", "Bonnet"), ("Brigitte", "Chevalier"), ("Christian", "Dumont"), ("Danielle", "Fournier"), ("Émile", "Gauthier"),
        ("Françoise", "Henry"), ("Gérard", "Jacob"), ("Hélène", "Lacroix"), ("Isabelle", "Marchand"), ("Jacques", "Noël"),
        ("Karine", "Olivier"), ("Laurent", "Perrin"), ("Monique", "Renaud"), ("Nicolas", "Schmitt"), ("Odile", "Tessier"),
        ("Pierre", "Vasseur"), ("Quentin", "Aubert"), ("Rose", "Barbier"), ("Serge", "Carpentier"), ("Thérèse", "Denis"),
    ]

    static let pathologies = ["Sein gauche", "Sein droit", "Prostate", "Poumon", "ORL", "Rectum", "Col utérin", "Métastase osseuse"]

    static func load(into platform: Platform, tenant: TenantID, admin: Principal) async throws {
        let identity = platform.identity
        func new(_ username: String, _ given: String, _ family: String, _ role: Role, _ specialty: Specialty? = nil) -> IdentityService.NewAccount {
            IdentityService.NewAccount(username: username, email: "\(username)@demo.hygie.local", given: given, family: family, role: role, specialty: specialty)
        }
        let technologist = try await identity.createStaff(by: admin, new("manip.nice", "Yanis", "Morel", .radiotherapyTechnologist)).principal()
        let physicist = try await identity.createStaff(by: admin, new("physicien.nice", "Nadia", "Roux", .medicalPhysicist)).principal()
        let dosimetrist = try await identity.createStaff(by: admin, new("dosi.nice", "Hugo", "Blanc", .dosimetrist)).principal()
        _ = try await identity.createStaff(by: admin, new("chef.nice", "Élise", "Mercier", .coordinator))
        let oncologistAccount = try await identity.createStaff(by: admin, new("dr.dubois", "Antoine", "Dubois", .physician, .radiationOncology))
        let oncologist = oncologistAccount.principal()

        let clock = DemoClock(Date())
        let pathways = PathwaysService(
            fhir: platform.fhir, keyRing: platform.keyRing, clock: clock, ids: UUIDv7Generator(clock: clock), logger: Logger(label: "hygie.demo"))
        let halcyon = try await pathways.addMachine(name: "Halcyon 1", by: physicist)
        let truebeam = try await pathways.addMachine(name: "TrueBeam 2", by: physicist)
        let now = Date()
        // Today: Halcyon passes, TrueBeam's 6 MV output is past the action level.
        for (machine, output) in [(halcyon.id, 100.6), (truebeam.id, 103.8)] {
            clock.set(now.addingTimeInterval(-20))
            _ = try await pathways.recordQA(
                machine, frequency: .daily,
                results: [
                    .init(test: "output-6mv", value: .number(output)), .init(test: "output-10mv", value: .number(99.7)), .init(test: "lasers", value: .number(0.5)),
                    .init(test: "odi", value: .number(1)), .init(test: "door-interlock", value: .passed(true)), .init(test: "beam-status", value: .choice("working")),
                ], validate: true, by: physicist)
        }

        // The patients (records without portal accounts), linked to the oncologist: their care
        // team gives the department its access.
        var patients: [String] = []
        for index in 0..<40 {
            let (given, family) = names[index % names.count]
            let patient = UUIDv7Generator(clock: clock).makeID()
            let record: JSON = [
                "resourceType": "Patient", "id": .string(patient), "active": true,
                "identifier": [["system": "https://hygie.health/fhir/sid/demo-mrn/nice", "value": .string(String(format: "NI%06d", 4100 + index))]],
                "name": [["family": .string(index < names.count ? family : "\(family)-\(given.prefix(1))"), "given": [.string(given)]]],
                "gender": index % 2 == 0 ? "male" : "female",
                "birthDate": .string(String(format: "19%02d-%02d-%02d", 40 + index % 45, 1 + index % 12, 1 + index % 28)),
            ]
            let team: JSON = [
                "resourceType": "CareTeam", "id": .string(UUIDv7Generator(clock: clock).makeID()), "status": "active",
                "subject": ["reference": .string("Patient/\(patient)")],
                "participant": [["member": ["reference": .string("Practitioner/\(oncologistAccount.practitioner ?? "")")]]],
            ]
            _ = try await platform.fhir.transaction(
                HygieResources.transaction([HygieResources.put(record), HygieResources.put(team)]), as: .system(tenant)) { _ in }
            patients.append(patient)
        }

        let definition = PathwayDefinition.radiotherapy
        let order = definition.stages.map(\.code)
        // Stage reached by each case: five per stage.
        for (index, patient) in patients.enumerated() {
            let target = order[index % order.count]
            let steps = order.firstIndex(of: target) ?? 0
            let overdue = index % 3 == 0
            // Each step takes a day or two; an overdue case has waited in its stage well past its target.
            var at = now.addingTimeInterval(-Double(steps * 36 + (overdue ? 120 : 10)) * 3600 - Double(index) * 600)
            clock.set(at)
            let machine = index % 2 == 0 ? halcyon.id : truebeam.id
            let treated = ["in-treatment", "closed"].contains(target)
            let opened = try await pathways.open(
                NewCase(
                    patient: patient, priority: index % 7 == 0 ? .urgent : .routine, machine: treated ? halcyon.id : machine,
                    protocolName: ["50 Gy / 25 fr", "60 Gy / 30 fr", "78 Gy / 39 fr", "30 Gy / 10 fr"][index % 4], pathology: pathologies[index % pathologies.count],
                    referringPhysician: oncologistAccount.practitioner, plannedSessions: treated ? 3 : [25, 30, 39, 10][index % 4]), by: technologist)
            let id = opened.id
            for step in 0..<steps {
                let from = definition.stages[step]
                let to = definition.stages[step + 1]
                let mover: Principal
                switch to.code {
                case "plan-in-review": mover = dosimetrist
                case "plan-validated": mover = physicist
                case "in-treatment": mover = technologist
                case "closed": mover = physicist
                default: mover = oncologist
                }
                let ticker: Principal = from.code == "to-prepare" || from.code == "in-treatment" ? technologist : from.code == "plan-in-review" ? dosimetrist : oncologist
                let mandatory = Dictionary(uniqueKeysWithValues: from.checklist.map { ($0.code, true) })
                if !mandatory.isEmpty { _ = try await pathways.tick(id, stage: from.code, items: mandatory, by: ticker) }
                if to.code == "in-treatment" || to.code == "closed" {
                    // Treatment happens today, on the machine that passed its QA.
                    at = now.addingTimeInterval(-Double(order.count - step))
                }
                if to.code == "closed" {
                    for _ in 0..<3 {
                        clock.set(at)
                        _ = try await pathways.recordSession(id, checklist: ["patient-identity", "positioning", "plan-parameters"], note: nil, by: technologist)
                        at = at.addingTimeInterval(0.1)
                    }
                }
                clock.set(at)
                // One plan in five goes back once before it is validated.
                if to.code == "plan-validated", index % 5 == 1 {
                    _ = try await pathways.move(id, to: "plan-validated", comment: nil, by: physicist)
                    at = at.addingTimeInterval(6 * 3600)
                    clock.set(at)
                    _ = try await pathways.move(id, to: "plan-in-review", comment: "Couverture du PTV insuffisante", by: oncologist)
                    at = at.addingTimeInterval(18 * 3600)
                    clock.set(at)
                }
                _ = try await pathways.move(id, to: to.code, comment: nil, by: mover)
                at = at.addingTimeInterval(36 * 3600)
                if to.code != "in-treatment" && to.code != "closed" { clock.set(min(at, now)) }
            }
            if target == "in-treatment" {
                clock.set(now)
                _ = try await pathways.recordSession(id, checklist: ["patient-identity", "positioning", "plan-parameters"], note: nil, by: technologist)
            }
        }
        _ = try await pathways.comment(
            try await pathways.cases(CaseFilter(stage: "plan-in-review"), by: dosimetrist).first?.id ?? "", text: "Contraintes moelle à revoir avec le Dr Dubois.",
            visibility: .team, mentions: [oncologistAccount.practitioner ?? ""], attachments: [], by: dosimetrist)
    }
}
