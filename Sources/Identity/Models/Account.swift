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

/// Identity's errors are the services' common error type (Core).
public typealias IdentityError = ServiceError

extension ServiceError {
    public static let invalidCredentials = ServiceError(401, "invalid-credentials", "Unknown username or wrong password.")
    public static let passwordChangeRequired = ServiceError(
        403, "password-change-required", "Choose a new password first (POST /api/v1/auth/password); nothing else is allowed until then.")
    public static let totpEnrolmentRequired = ServiceError(
        403, "totp-enrolment-required", "Your role requires a second factor: enrol one (POST /api/v1/auth/totp/setup) before anything else.")
}

