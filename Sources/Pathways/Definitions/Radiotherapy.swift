import Access

extension PathwayDefinition {
    /// The radiotherapy pathway of the Oncoflow specification (`specs/000_…`, "Règles de statut
    /// et transitions"): eight stages across five professions, exactly the specification's
    /// transitions, the conditions of its third column as checklists and rules, and a treatment
    /// session blocked unless the prescription, the plan and today's machine QA are all in
    /// order. Version 1 of every tenant's radiotherapy pathway; admins edit from there.
    public static let radiotherapy = PathwayDefinition(
        code: "radiotherapy", version: 1, title: LocalizedText(fr: "Radiothérapie", en: "Radiotherapy"),
        stages: [
            Stage(
                code: "to-prepare", title: LocalizedText(fr: "À préparer", en: "To prepare"),
                summary: LocalizedText(fr: "Manipulateur : identité vérifiée, examens importés.", en: "Technologist: identity checked, imaging imported."),
                roles: [.radiotherapyTechnologist],
                checklist: [
                    ChecklistItem(code: "identity-verified", text: LocalizedText(fr: "Identité vérifiée", en: "Identity verified"), mandatory: true),
                    ChecklistItem(code: "imaging-imported", text: LocalizedText(fr: "Examens importés", en: "Examinations imported"), mandatory: true),
                    ChecklistItem(code: "consent-recorded", text: LocalizedText(fr: "Consentement recueilli", en: "Consent recorded"), mandatory: false),
                ], targetHours: 48),
            Stage(
                code: "prescription-validated", title: LocalizedText(fr: "Prescription validée", en: "Prescription validated"),
                summary: LocalizedText(fr: "Oncologue : ordonnance et protocole ajoutés.", en: "Radiation oncologist: prescription and protocol recorded."),
                roles: [.physician],
                checklist: [
                    ChecklistItem(code: "prescription-signed", text: LocalizedText(fr: "Prescription signée", en: "Prescription signed"), mandatory: true),
                    ChecklistItem(code: "protocol-recorded", text: LocalizedText(fr: "Protocole renseigné", en: "Protocol recorded"), mandatory: false),
                ], targetHours: 72),
            Stage(
                code: "contours-validated", title: LocalizedText(fr: "Contours validés", en: "Contours validated"),
                summary: LocalizedText(fr: "Oncologue : volumes dessinés.", en: "Radiation oncologist: volumes drawn."),
                roles: [.physician],
                checklist: [
                    ChecklistItem(code: "contours-locked", text: LocalizedText(fr: "Contours verrouillés", en: "Contours locked"), mandatory: true)
                ], targetHours: 72),
            Stage(
                code: "plan-in-review", title: LocalizedText(fr: "Plan en revue", en: "Plan in review"),
                summary: LocalizedText(fr: "Dosimétriste : plan calculé, contraintes documentées.", en: "Dosimetrist: plan computed, constraints documented."),
                roles: [.dosimetrist],
                checklist: [
                    ChecklistItem(code: "constraints-documented", text: LocalizedText(fr: "Contraintes documentées", en: "Constraints documented"), mandatory: false),
                    ChecklistItem(code: "dosimetric-qa", text: LocalizedText(fr: "QA dosimétrique réalisée", en: "Dosimetric QA done"), mandatory: true),
                ], targetHours: 72),
            Stage(
                code: "plan-validated", title: LocalizedText(fr: "Plan validé", en: "Plan validated"),
                summary: LocalizedText(fr: "Physicien : contrôle indépendant, QA machine.", en: "Physicist: independent check, machine QA."),
                roles: [.medicalPhysicist],
                checklist: [
                    ChecklistItem(code: "independent-check", text: LocalizedText(fr: "Contrôle indépendant réalisé", en: "Independent check done"), mandatory: false),
                    ChecklistItem(code: "oncologist-signature", text: LocalizedText(fr: "Signature oncologue", en: "Oncologist signature"), mandatory: true),
                ], targetHours: 72),
            Stage(
                code: "ready-for-treatment", title: LocalizedText(fr: "Prêt pour traitement", en: "Ready for treatment"),
                summary: LocalizedText(fr: "Oncologue : validation clinique finale.", en: "Radiation oncologist: final clinical sign-off."),
                roles: [.physician],
                checklist: [
                    ChecklistItem(code: "patient-informed", text: LocalizedText(fr: "Patient informé du début du traitement", en: "Patient told when treatment starts"), mandatory: false)
                ], targetHours: 120),
            Stage(
                code: "in-treatment", title: LocalizedText(fr: "En traitement", en: "In treatment"),
                summary: LocalizedText(fr: "Manipulateur : séances quotidiennes, check-list pré-séance.", en: "Technologist: daily sessions, pre-session checklist."),
                roles: [.radiotherapyTechnologist],
                checklist: [
                    ChecklistItem(code: "final-report", text: LocalizedText(fr: "Compte rendu final rédigé", en: "Final report written"), mandatory: true)
                ]),
            Stage(
                code: "closed", title: LocalizedText(fr: "Clôturé", en: "Closed"),
                summary: LocalizedText(fr: "Oncologue et physicien : effets indésirables, comparaisons dosimétriques.", en: "Oncologist and physicist: side effects, dosimetric comparison."),
                roles: [.physician, .medicalPhysicist],
                checklist: [
                    ChecklistItem(code: "side-effects", text: LocalizedText(fr: "Effets indésirables relevés", en: "Side effects recorded"), mandatory: false),
                    ChecklistItem(code: "dosimetric-comparison", text: LocalizedText(fr: "Comparaison dosimétrique faite", en: "Dosimetric comparison done"), mandatory: false),
                ]),
        ],
        transitions: [
            Transition(from: "to-prepare", to: "prescription-validated"),
            Transition(from: "prescription-validated", to: "contours-validated"),
            Transition(from: "contours-validated", to: "plan-in-review"),
            Transition(from: "plan-in-review", to: "plan-validated"),
            // The plan review finds the volumes wrong: back to the oncologist, before contouring.
            Transition(
                from: "plan-in-review", to: "prescription-validated",
                label: LocalizedText(fr: "À reprendre contourage", en: "Contouring to redo"), roles: [.dosimetrist, .medicalPhysicist, .physician]),
            Transition(from: "plan-validated", to: "ready-for-treatment"),
            Transition(from: "plan-validated", to: "plan-in-review", roles: [.physician, .medicalPhysicist]),
            Transition(
                from: "ready-for-treatment", to: "in-treatment",
                rules: [
                    Rule(.machineAssigned, explanation: LocalizedText(fr: "Aucune machine de traitement n'est attribuée au dossier.", en: "No treatment machine is assigned to the case.")),
                    Rule(.machineQAOK, explanation: LocalizedText(fr: "La QA du jour de la machine n'est pas « OK ».", en: "The machine's QA is not \"OK\" today.")),
                ]),
            Transition(
                from: "in-treatment", to: "closed",
                rules: [
                    Rule(.allSessionsDone, explanation: LocalizedText(fr: "Toutes les séances prévues ne sont pas terminées.", en: "Not every planned session has been delivered."))
                ]),
            // Treatment interrupted: back to ready, to be signed off again.
            Transition(from: "in-treatment", to: "ready-for-treatment", roles: [.radiotherapyTechnologist, .physician, .medicalPhysicist]),
        ],
        sessions: Sessions(
            stage: "in-treatment",
            rules: [
                Rule(
                    .checked, stage: "prescription-validated", item: "prescription-signed",
                    explanation: LocalizedText(fr: "La prescription est absente.", en: "The prescription is missing.")),
                Rule(.reached, stage: "plan-validated", explanation: LocalizedText(fr: "Le plan n'est pas validé.", en: "The plan is not validated.")),
                Rule(.machineAssigned, explanation: LocalizedText(fr: "Aucune machine de traitement n'est attribuée au dossier.", en: "No treatment machine is assigned to the case.")),
                Rule(.machineQAOK, explanation: LocalizedText(fr: "La QA du jour de la machine n'est pas « OK ».", en: "The machine's QA is not \"OK\" today.")),
            ],
            checklist: [
                ChecklistItem(code: "patient-identity", text: LocalizedText(fr: "Identité du patient contrôlée", en: "Patient identity checked"), mandatory: true),
                ChecklistItem(code: "positioning", text: LocalizedText(fr: "Positionnement vérifié", en: "Positioning verified"), mandatory: true),
                ChecklistItem(code: "plan-parameters", text: LocalizedText(fr: "Paramètres du plan vérifiés", en: "Plan parameters verified"), mandatory: true),
            ]),
        regulatoryDelays: [
            RegulatoryDelay(
                code: "prescription", title: LocalizedText(fr: "Prescription < 48 h", en: "Prescription < 48 h"), from: "to-prepare",
                to: "prescription-validated", hours: 48),
            RegulatoryDelay(
                code: "physics-validation", title: LocalizedText(fr: "Validation physique < 72 h", en: "Physics validation < 72 h"),
                from: "plan-in-review", to: "plan-validated", hours: 72),
        ])
}
