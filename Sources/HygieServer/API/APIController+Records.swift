import Access
import Core
import Foundation
import Hummingbird
import Records

struct PatientView: Encodable {
    struct Member: Encodable {
        let id: String
        let name: String
    }

    let id: String
    let name: String
    let birth_date: String?
    let gender: String?
    let identifiers: [String]
    let care_team: [Member]?

    init(_ card: RecordsService.PatientCard, withTeam: Bool) {
        id = card.id
        name = card.name
        birth_date = card.birthDate
        gender = card.gender
        identifiers = card.identifiers
        care_team = withTeam ? card.careTeam.map { Member(id: $0.id, name: $0.name) } : nil
    }
}

struct DemographicsBody: Decodable {
    let family: String?
    let given: String?
    let birth_date: String?
    let gender: String?
}

struct EntryVersionView: Encodable {
    let version: Int
    let method: String
    let updated: String
    let entry: RecordEntry?
}

/// `/api/v1` for patients and their medical record (issue 4). Reads and writes run as the
/// caller through FHIRStore: the access rules and the audit trail are those of `/fhir`.
extension APIController {
    func addRecordRoutes(to api: RouterGroup<AppRequestContext>) {
        api.get("patients", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            let page = try await records.patients(
                matching: parameters["q"].map(String.init), limit: try queryLimit(parameters["limit"]), cursor: parameters["cursor"].map(String.init),
                by: principal)
            return try json(PageView(items: page.items.map { PatientView($0, withTeam: false) }, next_cursor: page.next))
        })
        api.get("patients/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            return try json(PatientView(try await records.patient(try context.parameters.require("id"), by: principal), withTeam: true))
        })
        api.patch("patients/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            let body = try await decode(DemographicsBody.self, request, context)
            let change = RecordsService.Demographics(family: body.family, given: body.given, birthDate: body.birth_date, gender: body.gender)
            return try json(PatientView(try await records.updatePatient(try context.parameters.require("id"), change, by: principal), withTeam: true))
        })
        api.get("medical-records", use: wrap { request, context in
            let principal = try await principal(request, context)
            let parameters = request.uri.queryParameters
            guard let patient = parameters["patient"].map(String.init) else { throw ServiceError.invalid("Name the \"patient\" whose record to list.") }
            let page = try await records.entries(
                patient: patient, kind: try kind(parameters["kind"].map(String.init)), limit: try queryLimit(parameters["limit"]),
                cursor: parameters["cursor"].map(String.init), by: principal)
            return try json(PageView(items: page.items, next_cursor: page.next))
        })
        api.post("medical-records", use: wrap { request, context in
            let principal = try await principal(request, context)
            let entry = try await decode(RecordEntry.self, request, context)
            return try json(try await records.create(entry, by: principal), status: .created)
        })
        api.get("medical-records/:kind/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            return try json(try await records.entry(try kindParameter(context), try context.parameters.require("id"), by: principal))
        })
        api.put("medical-records/:kind/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            let entry = try await decode(RecordEntry.self, request, context)
            return try json(try await records.update(try kindParameter(context), try context.parameters.require("id"), entry, by: principal))
        })
        api.delete("medical-records/:kind/:id", use: wrap { request, context in
            let principal = try await principal(request, context)
            try await records.delete(try kindParameter(context), try context.parameters.require("id"), by: principal)
            return Response(status: .noContent)
        })
        api.get("medical-records/:kind/:id/history", use: wrap { request, context in
            let principal = try await principal(request, context)
            let versions = try await records.history(try kindParameter(context), try context.parameters.require("id"), by: principal)
            let items = versions.map { EntryVersionView(version: $0.version, method: $0.method, updated: $0.updated, entry: $0.entry) }
            return try json(ListView(items: items, total: items.count))
        })
    }

    func kind(_ value: String?) throws -> RecordKind? {
        guard let value else { return nil }
        guard let kind = RecordKind(rawValue: value) else {
            throw ServiceError.invalid("Unknown kind \(value); use one of \(RecordKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return kind
    }

    func kindParameter(_ context: AppRequestContext) throws -> RecordKind {
        guard let kind = try kind(context.parameters.get("kind")) else { throw ServiceError.notFound("This kind of entry") }
        return kind
    }
}
