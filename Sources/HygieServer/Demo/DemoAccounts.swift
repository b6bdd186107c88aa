import Access
import Core
import FHIR
import FHIRStore
import Foundation
import Identity
import Records
import Scheduling

/// The demonstration deployment of `hygie serve --demo` (issue 4): two hospitals with their
/// admins, physicians and secretaries, patients linked to physicians, published availability,
/// appointments at every status and filled records, made through the same services a user
/// would call. Every account has the default password and must change it at first sign-in,
/// unless `--demo-open` keeps it.
public enum DemoAccounts {
    public struct Person: Sendable {
        public let username: String
        public let role: Role
        public let hospital: String?
    }

    /// The accounts, as the README lists them (password `mediconnect`).
    public static let people: [Person] = [
        Person(username: "admin.lyon", role: .hospitalAdmin, hospital: "lyon"),
        Person(username: "dr.martin", role: .physician, hospital: "lyon"),
        Person(username: "dr.bernard", role: .physician, hospital: "lyon"),
        Person(username: "sec.lyon", role: .secretary, hospital: "lyon"),
        Person(username: "admin.nice", role: .hospitalAdmin, hospital: "nice"),
        Person(username: "dr.petit", role: .physician, hospital: "nice"),
        Person(username: "dr.robert", role: .physician, hospital: "nice"),
        Person(username: "sec.nice", role: .secretary, hospital: "nice"),
        Person(username: "manip.nice", role: .radiotherapyTechnologist, hospital: "nice"),
        Person(username: "physicien.nice", role: .medicalPhysicist, hospital: "nice"),
        Person(username: "dosi.nice", role: .dosimetrist, hospital: "nice"),
        Person(username: "chef.nice", role: .coordinator, hospital: "nice"),
        Person(username: "dr.dubois", role: .physician, hospital: "nice"),
        Person(username: "camille.durand", role: .patient, hospital: nil),
        Person(username: "louis.moreau", role: .patient, hospital: nil),
        Person(username: "lea.garcia", role: .patient, hospital: nil),
    ]

    /// Creates the deployment once (nothing happens when `dr.martin` exists).
    public static func load(into platform: Platform, tenant: TenantID, open: Bool) async throws -> Bool {
        let identity = platform.identity
        if try await identity.accountExists(username: "dr.martin", tenant: tenant) { return false }
        let root = Principal(account: "demo-loader", tenant: tenant, role: .superAdmin)
        let lyon = try await identity.createHospital(by: root, name: "Centre Hospitalier Lumière — Lyon", finess: "690000002")
        let nice = try await identity.createHospital(by: root, name: "Hôpital Saint-Roch — Nice", finess: "060000003")
        func new(_ username: String, _ given: String, _ family: String, _ role: Role, _ specialty: Specialty? = nil, birth: String? = nil, gender: String? = nil)
            -> IdentityService.NewAccount
        {
            IdentityService.NewAccount(
                username: username, email: "\(username)@demo.hygie.local", given: given, family: family, role: role, specialty: specialty,
                birthDate: birth, gender: gender)
        }
        _ = try await identity.createHospitalAdmin(by: root, new("admin.lyon", "Agnès", "Lefèvre", .hospitalAdmin), hospital: lyon.id)
        _ = try await identity.createHospitalAdmin(by: root, new("admin.nice", "Marc", "Rossi", .hospitalAdmin), hospital: nice.id)
        let adminLyon = Principal(account: "demo-loader", tenant: tenant, role: .hospitalAdmin, hospital: lyon.id)
        let adminNice = Principal(account: "demo-loader", tenant: tenant, role: .hospitalAdmin, hospital: nice.id)
        let martin = try await identity.createStaff(by: adminLyon, new("dr.martin", "Claire", "Martin", .physician, .cardiology))
        let bernard = try await identity.createStaff(by: adminLyon, new("dr.bernard", "Paul", "Bernard", .physician, .generalPractice))
        let secLyon = try await identity.createStaff(by: adminLyon, new("sec.lyon", "Sophie", "Girard", .secretary))
        let petit = try await identity.createStaff(by: adminNice, new("dr.petit", "Julien", "Petit", .physician, .radiology))
        let robert = try await identity.createStaff(by: adminNice, new("dr.robert", "Inès", "Robert", .physician, .medicalOncology))
        let secNice = try await identity.createStaff(by: adminNice, new("sec.nice", "Lucas", "Fabre", .secretary))
        let secretaryLyon = secLyon.principal()
        let secretaryNice = secNice.principal()
        let camille = try await identity.createPatient(
            by: secretaryLyon, new("camille.durand", "Camille", "Durand", .patient, birth: "1978-04-12", gender: "female"),
            physicians: [martin.practitioner ?? ""])
        let louis = try await identity.createPatient(
            by: secretaryLyon, new("louis.moreau", "Louis", "Moreau", .patient, birth: "1961-09-30", gender: "male"),
            physicians: [bernard.practitioner ?? ""])
        let lea = try await identity.createPatient(
            by: secretaryNice, new("lea.garcia", "Léa", "Garcia", .patient, birth: "1990-01-22", gender: "female"), physicians: [petit.practitioner ?? ""])

        // Availability: weekdays 9–12 and 14–17, 20-minute consultations.
        let hours = (1...5).flatMap { day in
            [
                AvailabilitySettings.OpeningHours(weekday: day, start: "09:00", end: "12:00", type: "consultation"),
                AvailabilitySettings.OpeningHours(weekday: day, start: "14:00", end: "17:00", type: "consultation"),
            ]
        }
        let settings = AvailabilitySettings(appointmentTypes: [.init(code: "consultation", label: "Consultation", minutes: 20)], openingHours: hours)
        for (physician, secretary) in [(martin, secretaryLyon), (bernard, secretaryLyon), (petit, secretaryNice), (robert, secretaryNice)] {
            try await platform.scheduling.saveAvailability(settings, for: physician.practitioner ?? "", by: secretary)
        }

        // Appointments at every status.
        let scheduling = platform.scheduling
        func slots(_ physician: Account) async throws -> [FreeSlot] {
            try await scheduling.freeSlots(SlotSearch(practitioner: physician.practitioner, limit: 20), tenant: tenant).items
        }
        let camilleP = camille.principal()
        let louisP = louis.principal()
        let leaP = lea.principal()
        let martinSlots = try await slots(martin)
        let booked = try await scheduling.request(practitioner: martin.practitioner ?? "", slot: martinSlots[2].id, reason: "Suivi cardiologique", by: camilleP)
        _ = try await scheduling.validate(booked.id, by: secretaryLyon)
        _ = try await scheduling.request(practitioner: petit.practitioner ?? "", slot: try await slots(petit)[4].id, reason: "Échographie abdominale", by: camilleP)
        _ = try await scheduling.request(practitioner: robert.practitioner ?? "", slot: nil, reason: "Deuxième avis sur un traitement", by: louisP)
        _ = try await scheduling.request(practitioner: bernard.practitioner ?? "", slot: try await slots(bernard)[5].id, reason: "Bilan annuel", by: leaP)
        _ = try await scheduling.request(practitioner: martin.practitioner ?? "", slot: nil, reason: "Douleurs thoraciques à l'effort", by: louisP)
        let declined = try await scheduling.request(practitioner: martin.practitioner ?? "", slot: martinSlots[6].id, reason: "Essoufflement", by: leaP)
        _ = try await scheduling.decline(declined.id, reason: "Merci de consulter d'abord votre médecin traitant.", by: secretaryLyon)
        let cancelled = try await scheduling.request(practitioner: bernard.practitioner ?? "", slot: try await slots(bernard)[1].id, reason: "Certificat", by: louisP)
        _ = try await scheduling.validate(cancelled.id, by: secretaryLyon)
        _ = try await scheduling.cancel(cancelled.id, reason: "Empêchement", by: louisP)
        _ = try await scheduling.book(patient: louis.patient ?? "", slot: try await slots(bernard)[3].id, reason: "Renouvellement d'ordonnance", by: secretaryLyon)
        // Past visits: fulfilled and missed.
        let now = Date()
        for (status, days) in [("fulfilled", 40), ("noshow", 12)] {
            let start = now.addingTimeInterval(-Double(days) * 86_400)
            let appointment: JSON = [
                "resourceType": "Appointment", "status": .string(status),
                "start": .string(FHIRDateTime.instantString(epochMillis: Int64(start.timeIntervalSince1970) * 1000)),
                "end": .string(FHIRDateTime.instantString(epochMillis: Int64(start.timeIntervalSince1970 + 1200) * 1000)),
                "participant": [
                    ["actor": ["reference": .string("Patient/\(camille.patient ?? "")")], "status": "accepted"],
                    ["actor": ["reference": .string("Practitioner/\(martin.practitioner ?? "")")], "status": "accepted"],
                ],
            ]
            _ = try await platform.fhir.create(appointment, type: "Appointment", as: .system(tenant))
        }

        // Records kept by the linked physicians.
        let records = platform.records
        func entry(_ kind: RecordKind, _ patient: Account, _ title: String, _ fill: (inout RecordEntry) -> Void = { _ in }) -> RecordEntry {
            var entry = RecordEntry(kind: kind, patient: patient.patient ?? "", title: title)
            fill(&entry)
            return entry
        }
        let martinP = martin.principal()
        let bernardP = bernard.principal()
        let petitP = petit.principal()
        for (item, by) in [
            (entry(.consultation, camille, "Consultation de cardiologie") { $0.date = "2026-06-03"; $0.note = "Palpitations à l'effort. ECG : rythme sinusal. Holter prescrit." }, martinP),
            (entry(.condition, camille, "Hypertension artérielle") { $0.date = "2019-02-01"; $0.code = EntryCode(system: "http://hl7.org/fhir/sid/icd-10", code: "I10") }, martinP),
            (entry(.allergy, camille, "Pénicillines") { $0.code = EntryCode(system: EntryCode.atc, code: "J01C"); $0.criticality = "high"; $0.reaction = "Urticaire généralisée" }, martinP),
            (entry(.medication, camille, "Amlodipine 5 mg") {
                $0.code = EntryCode(system: EntryCode.atc, code: "C08CA01"); $0.dosage = "1 comprimé le matin"; $0.date = "2026-06-03"
                $0.periodStart = "2026-06-03"; $0.periodEnd = "2026-12-03"; $0.renewalDate = "2026-12-01"
            }, martinP),
            (entry(.immunization, camille, "Grippe saisonnière") { $0.date = "2025-10-20"; $0.lot = "FLU-2025-118" }, martinP),
            (entry(.observation, camille, "Cholestérol LDL") { $0.date = "2026-05-28"; $0.value = "1.32"; $0.unit = "g/L"; $0.code = EntryCode(system: EntryCode.loinc, code: "13457-7") }, martinP),
            (entry(.consultation, louis, "Consultation de médecine générale") { $0.date = "2026-09-14"; $0.note = "Diabète équilibré. HbA1c à contrôler dans 3 mois." }, bernardP),
            (entry(.condition, louis, "Diabète de type 2") { $0.date = "2015-03-01"; $0.code = EntryCode(system: "http://hl7.org/fhir/sid/icd-10", code: "E11") }, bernardP),
            (entry(.medication, louis, "Metformine 1000 mg") { $0.code = EntryCode(system: EntryCode.atc, code: "A10BA02"); $0.dosage = "1 comprimé matin et soir"; $0.renewalDate = "2026-12-15" }, bernardP),
            (entry(.observation, louis, "HbA1c") { $0.date = "2026-09-10"; $0.value = "6.8"; $0.unit = "%"; $0.code = EntryCode(system: EntryCode.loinc, code: "4548-4") }, bernardP),
            (entry(.allergy, lea, "Iode") { $0.reaction = "Œdème"; $0.criticality = "low" }, petitP),
            (entry(.consultation, lea, "Compte rendu d'échographie") { $0.date = "2026-10-02"; $0.note = "Échographie thyroïdienne normale." }, petitP),
        ] {
            _ = try await records.create(item, by: by)
        }
        // The radiotherapy department at Nice: staff, two machines, forty cases.
        try await DemoRadiotherapy.load(into: platform, tenant: tenant, admin: adminNice)
        if open {
            for person in people { try await identity.openDemoAccount(username: person.username, tenant: tenant) }
        }
        return true
    }
}
