import Access
import Core

/// Tag for account ids.
public enum AccountTag {}
public typealias AccountID = Tagged<AccountTag, String>

/// A sign-in identity: a staff member (backed by Practitioner + PractitionerRole) or a patient
/// (backed by Patient). The password hash never leaves Identity.
public struct Account: Sendable, Equatable {
    public var id: AccountID
    public var tenant: TenantID
    public var username: String
    public var email: String?
    public var role: Role
    /// Organization id of the hospital a staff account is bound to.
    public var hospital: String?
    public var practitioner: String?
    public var patient: String?
    public var mustChangePassword: Bool
    public var active: Bool
    /// Epoch milliseconds.
    public var createdAt: Int64
    /// Whether sign-in asks for a TOTP code after the password.
    public var totpEnabled: Bool = false

    /// Who this account is, for the policy engine.
    public func principal(address: String? = nil, scopes: ScopeSet? = nil, breakGlass: [String] = []) -> Principal {
        Principal(
            account: id.rawValue, tenant: tenant, role: role, hospital: hospital, practitioner: practitioner, patient: patient,
            scopes: scopes, breakGlass: breakGlass, address: address)
    }
}

/// What went wrong in Identity, with the HTTP status it maps to and a stable code clients
/// (and the localisation files) key on.
public struct IdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    public var retryAfter: Int? = nil

    public init(_ status: Int, _ code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static let invalidCredentials = IdentityError(401, "invalid-credentials", "Unknown username or wrong password.")
    public static let unauthenticated = IdentityError(401, "unauthenticated", "Sign in first: this needs a valid access token.")
    public static let passwordChangeRequired = IdentityError(
        403, "password-change-required", "Choose a new password first (POST /api/v1/auth/password); nothing else is allowed until then.")
    public static let forbidden = IdentityError(403, "forbidden", "Your role does not allow this.")
    public static let totpEnrolmentRequired = IdentityError(
        403, "totp-enrolment-required", "Your role requires a second factor: enrol one (POST /api/v1/auth/totp/setup) before anything else.")

    public static func notFound(_ what: String) -> IdentityError { IdentityError(404, "not-found", "\(what) does not exist.") }
    public static func invalid(_ message: String) -> IdentityError { IdentityError(400, "invalid", message) }
    public static func conflict(_ message: String) -> IdentityError { IdentityError(409, "conflict", message) }
}
