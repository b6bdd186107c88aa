import Core

/// Who performs an interaction, as the store needs to know it: the tenant, which resources the
/// caller may see and change, and whom to name in the audit trail.
///
/// FHIRStore declares these rules and applies them inside the SQL of every read path (read,
/// vread, search, `_include`, history, `$everything`, conditional matching) and before every
/// write; the Access module decides them per request (DESIGN §2).
public struct Caller: Sendable {
    public var tenant: TenantID
    public var read: Grant
    public var write: Grant
    /// Who is named in AuditEvents; nil for the server's own work (migrations, demo data),
    /// which is not audited.
    public var agent: AuditAgent?
    /// Set only for the audit trail's own writes: AuditEvents are written by nobody else.
    var isAuditTrail = false

    public init(tenant: TenantID, read: Grant, write: Grant, agent: AuditAgent?) {
        self.tenant = tenant
        self.read = read
        self.write = write
        self.agent = agent
    }

    /// The server itself: everything in the tenant, unaudited. For start-up work, maintenance
    /// commands and services that enforce their own rules before writing.
    public static func system(_ tenant: TenantID) -> Caller {
        Caller(tenant: tenant, read: .everything, write: .everything, agent: nil)
    }

    var isUnrestricted: Bool { read.everything && write.everything }
}

/// A set of resources, described so that it can be evaluated in SQL.
///
/// A resource is in the grant when the grant covers everything, when its type is one of the
/// open types (directories such as Practitioner or Organization), or when its type is one of
/// the compartment types and it belongs to the compartment of one of the granted patients.
public struct Grant: Sendable, Equatable {
    public var everything: Bool
    /// Types granted whatever patient they concern.
    public var openTypes: Set<String>
    /// Patients whose compartments are granted.
    public var patients: PatientSet
    /// Types granted within those compartments; nil means every type.
    public var compartmentTypes: Set<String>?
    /// Resources granted because they reference one of a set of practitioners, whatever
    /// patient they concern: the AuditEvents of a hospital's staff for its admin, the
    /// appointments asked of a hospital's physicians for its secretaries.
    public var byPractitioner: [PractitionerReference] = []

    public init(openTypes: Set<String> = [], patients: PatientSet = .none, compartmentTypes: Set<String>? = nil) {
        self.everything = false
        self.openTypes = openTypes
        self.patients = patients
        self.compartmentTypes = compartmentTypes
    }

    public static let everything: Grant = {
        var grant = Grant()
        grant.everything = true
        return grant
    }()

    public static let nothing = Grant()

    var isNothing: Bool { !everything && openTypes.isEmpty && patients == .none && byPractitioner.isEmpty }

    /// Whether the grant can cover resources of `type` at all (before looking at patients).
    public func mayConcern(_ type: String) -> Bool {
        everything || openTypes.contains(type) || (patients != .none && (compartmentTypes?.contains(type) ?? true))
            || byPractitioner.contains { $0.type == type }
    }
}

/// Patients a grant covers.
public enum PatientSet: Sendable, Equatable {
    case none
    /// Every patient of the tenant.
    case all
    case ids([String])
    /// Patients with an active CareTeam that has one of these practitioners as participant:
    /// the patient–doctor links (DESIGN §3).
    case linkedTo(PractitionerSet)
    /// Patients in any of these sets (a physician's links and break-the-glass grants).
    indirect case union([PatientSet])
}

/// Resources of `type` whose reference search parameter `parameter` points to one of
/// `practitioners`.
public struct PractitionerReference: Sendable, Equatable {
    public var type: String
    public var parameter: String
    public var practitioners: PractitionerSet

    public init(_ type: String, _ parameter: String, _ practitioners: PractitionerSet) {
        self.type = type
        self.parameter = parameter
        self.practitioners = practitioners
    }
}

/// Practitioners, for the care links a grant follows.
public enum PractitionerSet: Sendable, Equatable {
    case ids([String])
    /// Practitioners with a PractitionerRole at this Organization (a hospital's staff).
    case ofOrganization(String)
}

/// The person (or client) behind an interaction, as AuditEvent.agent records it.
public struct AuditAgent: Sendable, Equatable, Codable {
    /// The account id, or the OAuth client id of a system client.
    public var account: String
    /// Reference of the Practitioner or Patient behind the account, if any.
    public var who: String?
    /// The role code under which the caller acts.
    public var role: String
    /// The network address the request came from.
    public var address: String?

    public init(account: String, who: String?, role: String, address: String?) {
        self.account = account
        self.who = who
        self.role = role
        self.address = address
    }
}
