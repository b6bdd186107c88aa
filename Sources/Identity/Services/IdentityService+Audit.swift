import Access
import Core
import FHIR
import FHIRStore

/// An AuditEvent as the audit viewer shows it.
public struct AuditEntry: Sendable {
    public var id: String
    public var recorded: String
    /// The subtype code: read, search-type, create…, login, password-change…
    public var event: String
    public var action: String
    public var outcome: String
    public var account: String?
    public var role: String?
    public var address: String?
    public var patients: [String]
    public var entities: [String]
    public var detail: String?

    init(_ json: JSON) {
        id = json["id"]?.stringValue ?? ""
        recorded = json["recorded"]?.stringValue ?? ""
        event = json["subtype"]?.arrayValue?.first?["code"]?.stringValue ?? ""
        action = json["action"]?.stringValue ?? ""
        outcome = json["outcome"]?.stringValue ?? ""
        let agent = json["agent"]?.arrayValue?.first
        account = agent?["altId"]?.stringValue
        role = agent?["role"]?.arrayValue?.first?["coding"]?.arrayValue?.first?["code"]?.stringValue
        address = agent?["network"]?["address"]?.stringValue
        let references = (json["entity"]?.arrayValue ?? []).compactMap { $0["what"]?["reference"]?.stringValue }
        patients = references.filter { $0.hasPrefix("Patient/") }.map { String($0.dropFirst("Patient/".count)) }
        entities = references.filter { !$0.hasPrefix("Patient/") }
        detail = json["outcomeDesc"]?.stringValue
    }
}

extension IdentityService {
    /// The audit trail, newest first: all of it for a super admin; for a hospital admin, what
    /// the accounts of their hospital did.
    public func auditEvents(by principal: Principal, patient: String?, account: String?, since: String?, count: Int) async throws -> [AuditEntry] {
        let hospital = principal.role == .superAdmin ? nil : principal.hospital
        try require(principal, .readAudit(hospital: hospital))
        var parameters: [(String, String)] = [("_sort", "-date"), ("_count", String(max(1, min(count, 500))))]
        if let patient { parameters.append(("entity", "Patient/\(patient)")) }
        if let since { parameters.append(("date", "ge\(since)")) }
        var agents: [String]? = account.map { [$0] }
        if let hospital {
            let staff = try await accounts.list(tenant: principal.tenant, hospital: hospital, roles: []).map(\.id.rawValue)
            agents = agents.map { $0.filter(staff.contains) } ?? staff
        }
        if let agents {
            guard !agents.isEmpty else { return [] }
            parameters.append(("altid", agents.joined(separator: ",")))
        }
        do {
            var query = try SearchQuery.parse(resourceType: "AuditEvent", parameters: parameters, handling: .strict)
            query.total = TotalMode.none
            return try await fhir.search(query, as: .system(principal.tenant)).matches.map { AuditEntry(try $0.json()) }
        } catch let error as FHIRError {
            throw IdentityError.invalid(error.issues.map(\.diagnostics).joined(separator: " "))
        }
    }
}
