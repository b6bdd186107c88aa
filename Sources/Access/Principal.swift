import Core

/// Who is asking, computed once per request from the authenticated account (DESIGN §4): the
/// account, its role and hospital, the Practitioner or Patient behind it, the token's scopes
/// and any break-the-glass grants in force.
public struct Principal: Sendable, Equatable {
    public var account: String
    public var tenant: TenantID
    public var role: Role
    /// The Organization id of the hospital a staff account is bound to.
    public var hospital: String?
    public var practitioner: String?
    public var patient: String?
    /// SMART scopes of the token, when the request comes from an OAuth client; nil for the
    /// web app and the first-party API, which act with the full role.
    public var scopes: ScopeSet?
    /// Patients a physician opened through break-the-glass, whose grants are still running.
    public var breakGlass: [String]
    public var address: String?

    public init(
        account: String, tenant: TenantID, role: Role, hospital: String? = nil, practitioner: String? = nil, patient: String? = nil,
        scopes: ScopeSet? = nil, breakGlass: [String] = [], address: String? = nil
    ) {
        self.account = account
        self.tenant = tenant
        self.role = role
        self.hospital = hospital
        self.practitioner = practitioner
        self.patient = patient
        self.scopes = scopes
        self.breakGlass = breakGlass
        self.address = address
    }

    /// The reference written in AuditEvent.agent.who.
    public var reference: String? {
        if let practitioner { return "Practitioner/\(practitioner)" }
        if let patient { return "Patient/\(patient)" }
        return nil
    }
}
