/// Small builders for the resources and Bundles every feature service writes the same way
/// (DESIGN §3): transaction entries with ids the service chose, and in-app notifications.
public enum HygieResources {
    public static let notificationCategory = "https://hygie.health/fhir/CodeSystem/communication-category"
    public static let notificationCodes = "https://hygie.health/fhir/CodeSystem/notification"

    public static func transaction(_ entries: [JSON]) -> JSON {
        // FHIR forbids empty arrays: a transaction with nothing to write has no entry element
        // (a module's own rows and the audit record are still written in it).
        entries.isEmpty ? ["resourceType": "Bundle", "type": "transaction"] : ["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)]
    }

    /// A PUT entry for a resource that carries its id (create-or-update).
    public static func put(_ resource: JSON, ifMatch version: Int? = nil) -> JSON {
        let type = resource["resourceType"]?.stringValue ?? ""
        let id = resource["id"]?.stringValue ?? ""
        var request: JSONObject = ["method": "PUT", "url": .string("\(type)/\(id)")]
        if let version { request["ifMatch"] = .string("W/\"\(version)\"") }
        return ["resource": resource, "request": .object(request)]
    }

    public static func delete(_ reference: String) -> JSON {
        ["request": ["method": "DELETE", "url": .string(reference)]]
    }

    /// An in-app notification: a Communication with category notification, addressed to
    /// `recipients` (references). `patient` is the subject when the notice is about the
    /// patient's record and every recipient may see it.
    public static func notification(
        id: String, patient: String?, recipients: [String], sender: String?, sent: String, code: String, text: String, about: String? = nil
    ) -> JSON {
        var object: JSONObject = [
            "resourceType": "Communication", "id": .string(id), "status": "completed",
            "category": [["coding": [["system": .string(notificationCategory), "code": "notification"]]]],
            "reasonCode": [["coding": [["system": .string(notificationCodes), "code": .string(code)]]]],
            "sent": .string(sent),
            "recipient": .array(recipients.map { ["reference": .string($0)] }),
            "payload": [["contentString": .string(text)]],
        ]
        if let patient { object["subject"] = ["reference": .string("Patient/\(patient)")] }
        if let sender { object["sender"] = ["reference": .string(sender)] }
        if let about { object["about"] = [["reference": .string(about)]] }
        return .object(object)
    }
}
