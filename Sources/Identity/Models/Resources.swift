import Access
import FHIR

/// The FHIR resources behind accounts and hospitals (DESIGN §3).
enum Resources {
    /// RPPS, the French national directory of health professionals.
    static let rppsSystem = "urn:oid:1.2.250.1.71.4.2.1"
    /// FINESS, the French directory of health establishments.
    static let finessSystem = "urn:oid:1.2.250.1.71.4.2.2"

    static func transaction(_ entries: [JSON]) -> JSON {
        HygieResources.transaction(entries)
    }

    static func name(_ new: IdentityService.NewAccount) -> JSON {
        var name: JSONObject = ["family": .string(new.family)]
        if !new.given.isEmpty { name["given"] = [.string(new.given)] }
        return [.object(name)]
    }

    static func practitioner(id: String, _ new: IdentityService.NewAccount) -> JSON {
        var object: JSONObject = ["resourceType": "Practitioner", "id": .string(id), "active": true, "name": name(new)]
        if let rpps = new.rpps { object["identifier"] = [["system": .string(rppsSystem), "value": .string(rpps)]] }
        if let email = new.email { object["telecom"] = [["system": "email", "value": .string(email)]] }
        return .object(object)
    }

    static func practitionerRole(id: String, practitioner: String, hospital: String?, _ new: IdentityService.NewAccount) -> JSON {
        var object: JSONObject = [
            "resourceType": "PractitionerRole", "id": .string(id), "active": true,
            "practitioner": ["reference": .string("Practitioner/\(practitioner)")],
            "code": [["coding": [["system": .string(Role.codeSystem), "code": .string(new.role.code)]]]],
        ]
        if let hospital { object["organization"] = ["reference": .string("Organization/\(hospital)")] }
        if let specialty = new.specialty {
            object["specialty"] = [["coding": [["system": .string(Specialty.codeSystem), "code": .string(specialty.rawValue)]]]]
        }
        return .object(object)
    }

    static func patient(id: String, _ new: IdentityService.NewAccount) -> JSON {
        var object: JSONObject = ["resourceType": "Patient", "id": .string(id), "active": true, "name": name(new)]
        if let birthDate = new.birthDate { object["birthDate"] = .string(birthDate) }
        if let gender = new.gender { object["gender"] = .string(gender) }
        if let email = new.email { object["telecom"] = [["system": "email", "value": .string(email)]] }
        return .object(object)
    }

    /// The patient–doctor links (DESIGN §3): one active CareTeam per patient, whose
    /// participants are the linked practitioners.
    static func careTeam(id: String, patient: String, practitioners: [String]) -> JSON {
        [
            "resourceType": "CareTeam", "id": .string(id), "status": "active",
            "subject": ["reference": .string("Patient/\(patient)")],
            "participant": .array(practitioners.map { ["member": ["reference": .string("Practitioner/\($0)")]] }),
        ]
    }

    static func organization(id: String, name: String, finess: String?, active: Bool = true) -> JSON {
        var object: JSONObject = [
            "resourceType": "Organization", "id": .string(id), "active": .bool(active), "name": .string(name),
            "type": [["coding": [["system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"]]]],
        ]
        if let finess { object["identifier"] = [["system": .string(finessSystem), "value": .string(finess)]] }
        return .object(object)
    }
}
