import Core
import FHIR
import Foundation

/// Entries to FHIR resources and back (DESIGN §3). Every entry names its patient, its author
/// and its date; each kind puts its own fields where FHIR R4 expects them.
enum RecordMapping {
    static let renewalExtension = "https://hygie.health/fhir/StructureDefinition/renewal-date"

    static func concept(_ entry: RecordEntry) -> JSON {
        var concept: JSONObject = ["text": .string(entry.title)]
        if let code = entry.code {
            var coding: JSONObject = ["system": .string(code.system), "code": .string(code.code)]
            if let display = code.display { coding["display"] = .string(display) }
            concept["coding"] = [.object(coding)]
        }
        return .object(concept)
    }

    static func status(_ system: String, _ code: String) -> JSON {
        ["coding": [["system": .string("http://terminology.hl7.org/CodeSystem/\(system)"), "code": .string(code)]]]
    }

    static func notes(_ entry: RecordEntry) -> JSON? {
        entry.note.flatMap { $0.isEmpty ? nil : [["text": .string($0)]] }
    }

    /// The resource of an entry (for a consultation, the Composition), and for a consultation
    /// the Encounter it documents.
    static func resources(_ entry: RecordEntry, id: String, encounter: String?, author: String?, now: String) -> (JSON, JSON?) {
        let patient: JSON = ["reference": .string("Patient/\(entry.patient)")]
        let who: JSON? = author.map { ["reference": .string("Practitioner/\($0)")] }
        let date = entry.date ?? now
        var object: JSONObject = ["resourceType": .string(entry.kind.resourceType), "id": .string(id)]
        var encounterResource: JSON?
        switch entry.kind {
        case .consultation:
            let encounterID = encounter ?? ""
            var visit: JSONObject = [
                "resourceType": "Encounter", "id": .string(encounterID), "status": "finished",
                "class": ["system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"],
                "subject": patient, "period": ["start": .string(date)], "reasonCode": [concept(entry)],
            ]
            if let who { visit["participant"] = [["individual": who]] }
            encounterResource = .object(visit)
            object["status"] = "final"
            object["type"] = ["coding": [["system": .string(EntryCode.loinc), "code": "11488-4", "display": "Consult note"]], "text": "Consultation"]
            object["subject"] = patient
            object["encounter"] = ["reference": .string("Encounter/\(encounterID)")]
            object["date"] = .string(date)
            object["author"] = who.map { [$0] } ?? [["display": "Hygie"]]
            object["title"] = .string(entry.title)
            let text = entry.note ?? ""
            object["section"] = [[
                "title": "Observations",
                "text": ["status": "generated", "div": .string("<div xmlns=\"http://www.w3.org/1999/xhtml\">\(escape(text))</div>")],
            ]]
        case .condition:
            object["clinicalStatus"] = status("condition-clinical", entry.status ?? "active")
            object["verificationStatus"] = status("condition-ver-status", "confirmed")
            object["code"] = concept(entry)
            object["subject"] = patient
            if let onset = entry.date { object["onsetDateTime"] = .string(onset) }
            object["recordedDate"] = .string(now)
            if let who { object["recorder"] = who }
        case .allergy:
            object["clinicalStatus"] = status("allergyintolerance-clinical", entry.status ?? "active")
            object["verificationStatus"] = status("allergyintolerance-verification", "confirmed")
            object["code"] = concept(entry)
            object["patient"] = patient
            if let criticality = entry.criticality { object["criticality"] = .string(criticality) }
            if let onset = entry.date { object["onsetDateTime"] = .string(onset) }
            object["recordedDate"] = .string(now)
            if let who { object["recorder"] = who }
            if let reaction = entry.reaction, !reaction.isEmpty { object["reaction"] = [["manifestation": [["text": .string(reaction)]]]] }
        case .medication:
            object["status"] = .string(entry.status ?? "active")
            object["intent"] = "order"
            object["medicationCodeableConcept"] = concept(entry)
            object["subject"] = patient
            object["authoredOn"] = .string(date)
            if let who { object["requester"] = who }
            if let dosage = entry.dosage, !dosage.isEmpty { object["dosageInstruction"] = [["text": .string(dosage)]] }
            if entry.periodStart != nil || entry.periodEnd != nil {
                var period: JSONObject = [:]
                if let start = entry.periodStart { period["start"] = .string(start) }
                if let end = entry.periodEnd { period["end"] = .string(end) }
                object["dispenseRequest"] = ["validityPeriod": .object(period)]
            }
            if let renewal = entry.renewalDate { object["extension"] = [["url": .string(renewalExtension), "valueDate": .string(renewal)]] }
        case .immunization:
            object["status"] = "completed"
            object["vaccineCode"] = concept(entry)
            object["patient"] = patient
            object["occurrenceDateTime"] = .string(date)
            object["recorded"] = .string(now)
            if let lot = entry.lot, !lot.isEmpty { object["lotNumber"] = .string(lot) }
            if let who { object["performer"] = [["actor": who]] }
        case .observation:
            object["status"] = "final"
            object["code"] = concept(entry)
            object["subject"] = patient
            object["effectiveDateTime"] = .string(date)
            if let who { object["performer"] = [who] }
            if let value = entry.value, !value.isEmpty {
                let decimal = value.replacingOccurrences(of: ",", with: ".")
                if Double(decimal) != nil, decimal.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" }) {
                    var quantity: JSONObject = ["value": .number(JSONNumber(text: decimal))]
                    if let unit = entry.unit, !unit.isEmpty { quantity["unit"] = .string(unit) }
                    object["valueQuantity"] = .object(quantity)
                } else {
                    object["valueString"] = .string(value)
                }
            }
        }
        if entry.kind != .consultation, let notes = notes(entry) { object["note"] = notes }
        return (.object(object), encounterResource)
    }

    /// The entry a stored resource shows.
    static func entry(_ json: JSON, kind: RecordKind, version: Int, updated: String) -> RecordEntry {
        func text(_ concept: JSON?) -> String { concept?["text"]?.stringValue ?? concept?["coding"]?.arrayValue?.first?["display"]?.stringValue ?? "" }
        func code(_ concept: JSON?) -> EntryCode? {
            guard let coding = concept?["coding"]?.arrayValue?.first, let system = coding["system"]?.stringValue, let code = coding["code"]?.stringValue else {
                return nil
            }
            return EntryCode(system: system, code: code, display: coding["display"]?.stringValue)
        }
        func reference(_ value: JSON?, _ type: String) -> String? {
            guard let reference = value?["reference"]?.stringValue, reference.hasPrefix(type + "/") else { return nil }
            return String(reference.dropFirst(type.count + 1))
        }
        let patient = reference(json["subject"] ?? json["patient"], "Patient") ?? ""
        var entry = RecordEntry(kind: kind, patient: patient, title: "")
        entry.id = json["id"]?.stringValue
        entry.version = version
        entry.updated = updated
        entry.note = json["note"]?.arrayValue?.first?["text"]?.stringValue
        switch kind {
        case .consultation:
            entry.title = json["title"]?.stringValue ?? ""
            entry.date = json["date"]?.stringValue
            entry.author = reference(json["author"]?.arrayValue?.first, "Practitioner")
            entry.note = json["section"]?.arrayValue?.first?["text"]?["div"]?.stringValue.map(unescapeDiv)
        case .condition:
            entry.title = text(json["code"])
            entry.code = code(json["code"])
            entry.status = json["clinicalStatus"]?["coding"]?.arrayValue?.first?["code"]?.stringValue
            entry.date = json["onsetDateTime"]?.stringValue ?? json["recordedDate"]?.stringValue
            entry.author = reference(json["recorder"], "Practitioner")
        case .allergy:
            entry.title = text(json["code"])
            entry.code = code(json["code"])
            entry.status = json["clinicalStatus"]?["coding"]?.arrayValue?.first?["code"]?.stringValue
            entry.criticality = json["criticality"]?.stringValue
            entry.reaction = json["reaction"]?.arrayValue?.first?["manifestation"]?.arrayValue?.first?["text"]?.stringValue
            entry.date = json["onsetDateTime"]?.stringValue ?? json["recordedDate"]?.stringValue
            entry.author = reference(json["recorder"], "Practitioner")
        case .medication:
            entry.title = text(json["medicationCodeableConcept"])
            entry.code = code(json["medicationCodeableConcept"])
            entry.status = json["status"]?.stringValue
            entry.date = json["authoredOn"]?.stringValue
            entry.author = reference(json["requester"], "Practitioner")
            entry.dosage = json["dosageInstruction"]?.arrayValue?.first?["text"]?.stringValue
            entry.periodStart = json["dispenseRequest"]?["validityPeriod"]?["start"]?.stringValue
            entry.periodEnd = json["dispenseRequest"]?["validityPeriod"]?["end"]?.stringValue
            entry.renewalDate = json["extension"]?.arrayValue?.first { $0["url"]?.stringValue == renewalExtension }?["valueDate"]?.stringValue
        case .immunization:
            entry.title = text(json["vaccineCode"])
            entry.code = code(json["vaccineCode"])
            entry.date = json["occurrenceDateTime"]?.stringValue
            entry.lot = json["lotNumber"]?.stringValue
            entry.author = reference(json["performer"]?.arrayValue?.first?["actor"], "Practitioner")
        case .observation:
            entry.title = text(json["code"])
            entry.code = code(json["code"])
            entry.date = json["effectiveDateTime"]?.stringValue
            entry.author = reference(json["performer"]?.arrayValue?.first, "Practitioner")
            if let quantity = json["valueQuantity"] {
                entry.value = quantity["value"]?.numberValue?.text
                entry.unit = quantity["unit"]?.stringValue
            } else {
                entry.value = json["valueString"]?.stringValue
            }
        }
        return entry
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func unescapeDiv(_ div: String) -> String {
        var inner = div
        if let open = inner.range(of: ">") { inner = String(inner[open.upperBound...]) }
        if inner.hasSuffix("</div>") { inner = String(inner.dropLast(6)) }
        return inner.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}
