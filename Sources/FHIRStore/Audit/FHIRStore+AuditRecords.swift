import Core
import FHIR
import SQLKit
import Storage

extension FHIRStore {
    /// Ids of the patients whose compartments hold these rows.
    func patients(of rids: [Int64], on database: any SQLDatabase) async throws -> [String] {
        guard !rids.isEmpty else { return [] }
        var patients: Set<String> = []
        for chunk in Array(Set(rids)).chunks(of: 500) {
            // `compartment_type || ''` keeps SQLite on the rid index: on the type column it would
            // walk every patient compartment row (found by profiling audited reads).
            let rows = try await database.raw(
                "SELECT compartment_id FROM fhir_compartments WHERE rid IN (\(binds: chunk)) AND compartment_type || '' = 'Patient'"
            ).all()
            for row in rows { patients.insert(try row.decode(column: "compartment_id", as: String.self)) }
        }
        return patients.sorted()
    }

    /// The record of one interaction that succeeded: what was done, to what, for which
    /// patients (searches name the patients of what they returned, and their parameters).
    func auditRecord(_ request: FHIRRequest, _ response: FHIRResponse, agent: AuditAgent, on database: any SQLDatabase) async throws -> AuditRecord {
        let (interaction, action) = Self.interaction(request)
        var entities: [String] = []
        var rids = response.rids
        if let resource = response.resource {
            entities.append(resource.reference)
            rids.append(resource.rid)
        }
        if entities.isEmpty, case .instance(let type, let id) = request.target { entities.append("\(type)/\(id)") }
        var patients = try await patients(of: rids, on: database)
        if case .instance("Patient", let id) = request.target, !patients.contains(id) { patients.append(id) }
        let query = request.query.isEmpty ? nil : QueryString.encode(request.query)
        return AuditRecord(agent: agent, kind: .rest(interaction), action: action, entities: entities, patients: patients, query: query)
    }

    /// The record of an interaction that failed: 4xx a minor failure, 5xx a serious one.
    static func failureRecord(_ request: FHIRRequest, agent: AuditAgent, error: any Error) -> AuditRecord {
        let (interaction, action) = interaction(request)
        let status = (error as? FHIRError)?.status ?? 500
        var entities: [String] = []
        var patients: [String] = []
        switch request.target {
        case .instance(let type, let id), .version(let type, let id, _), .instanceHistory(let type, let id), .instanceOperation(let type, let id, _):
            entities.append("\(type)/\(id)")
            if type == "Patient" { patients.append(id) }
        default: break
        }
        return AuditRecord(
            agent: agent, kind: .rest(interaction), action: action, outcome: status >= 500 ? .seriousFailure : .minorFailure,
            entities: entities, patients: patients, detail: "HTTP \(status)", query: request.query.isEmpty ? nil : QueryString.encode(request.query))
    }

    /// The FHIR restful-interaction code and the audit action of a request.
    static func interaction(_ request: FHIRRequest) -> (String, AuditRecord.Action) {
        switch (request.method, request.target) {
        case (_, .instance) where request.method == "GET" || request.method == "HEAD": return ("read", .read)
        case (_, .version): return ("vread", .read)
        case (_, .type) where request.method == "GET": return ("search-type", .read)
        case ("POST", .typeSearch): return ("search-type", .read)
        case ("GET", .system), ("POST", .systemSearch): return ("search-system", .read)
        case (_, .instanceHistory): return ("history-instance", .read)
        case (_, .typeHistory): return ("history-type", .read)
        case (_, .systemHistory): return ("history-system", .read)
        case ("POST", .system): return ("transaction", .execute)
        case ("POST", .type): return ("create", .create)
        case ("PUT", _): return ("update", .update)
        case ("PATCH", _): return ("patch", .update)
        case ("DELETE", _): return ("delete", .delete)
        case (_, .instanceOperation(_, _, "everything")): return ("operation", .read)
        default: return ("operation", .execute)
        }
    }
}
