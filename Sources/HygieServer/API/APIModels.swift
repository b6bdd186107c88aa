import Access
import Core
import Identity

/// Bodies of `/api/v1` (snake_case on the wire, as OAuth and most hospital clients expect).
struct LoginBody: Decodable {
    let username: String
    let password: String
    /// The authenticator's current code, for accounts with the TOTP factor on.
    let totp: String?
}

struct CodeBody: Decodable {
    let code: String
}

struct PasswordOnlyBody: Decodable {
    let password: String
}

struct TOTPRequirementBody: Decodable {
    let role: String
    let required: Bool
}

struct RefreshBody: Decodable {
    let refresh_token: String
}

struct PasswordBody: Decodable {
    let current_password: String
    let new_password: String
}

struct TokenBody: Encodable {
    let access_token: String
    let refresh_token: String
    let token_type = "Bearer"
    let expires_in: Int
    let must_change_password: Bool

    init(_ pair: TokenPair) {
        access_token = pair.accessToken
        refresh_token = pair.refreshToken
        expires_in = pair.expiresIn
        must_change_password = pair.account.mustChangePassword
    }
}

struct AccountView: Encodable {
    let id: String
    let username: String
    let email: String?
    let role: String
    let hospital: String?
    let practitioner: String?
    let patient: String?
    let active: Bool
    let must_change_password: Bool

    init(_ account: Account) {
        id = account.id.rawValue
        username = account.username
        email = account.email
        role = account.role.rawValue
        hospital = account.hospital
        practitioner = account.practitioner
        patient = account.patient
        active = account.active
        must_change_password = account.mustChangePassword
        totp_enabled = account.totpEnabled
    }

    let totp_enabled: Bool
}

struct HospitalBody: Decodable {
    let name: String?
    let finess: String?
    let active: Bool?
}

struct HospitalView: Encodable {
    let id: String
    let name: String
    let finess: String?
    let active: Bool

    init(_ hospital: Hospital) {
        id = hospital.id
        name = hospital.name
        finess = hospital.finess
        active = hospital.active
    }
}

struct NewAccountBody: Decodable {
    let username: String
    let email: String?
    let given: String?
    let family: String
    let role: String?
    let specialty: String?
    let rpps: String?
    let hospital: String?
    let birth_date: String?
    let gender: String?
    let physicians: [String]?

    func account(role: Role) throws -> IdentityService.NewAccount {
        var specialty: Specialty?
        if let code = self.specialty {
            guard let known = Specialty(rawValue: code) else {
                throw IdentityError.invalid("Unknown specialty \(code); use one of \(Specialty.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            specialty = known
        }
        return IdentityService.NewAccount(
            username: username, email: email, given: given ?? "", family: family, role: role, specialty: specialty, rpps: rpps,
            birthDate: birth_date, gender: gender)
    }
}

struct AccountUpdateBody: Decodable {
    let email: String?
    let active: Bool?
    let role: String?
}

struct ListView<Item: Encodable>: Encodable {
    let items: [Item]
    let total: Int
}

struct ClientBody: Decodable {
    let name: String
    let grant_types: [String]
    let redirect_uris: [String]?
    let scope: String
    let confidential: Bool?
}

struct ClientView: Encodable {
    let client_id: String
    /// Shown once, at registration.
    let client_secret: String?
    let name: String
    let scope: String
}

struct AuditEventView: Encodable {
    let id: String
    let recorded: String
    let event: String
    let action: String
    let outcome: String
    let account: String?
    let role: String?
    let address: String?
    let patients: [String]
    let entities: [String]
    let detail: String?

    init(_ event: AuditEntry) {
        id = event.id
        recorded = event.recorded
        self.event = event.event
        action = event.action
        outcome = event.outcome
        account = event.account
        role = event.role
        address = event.address
        patients = event.patients
        entities = event.entities
        detail = event.detail
    }
}

struct BreakGlassBody: Decodable {
    let patient: String
    let reason: String
}

struct ForgotBody: Decodable {
    let username: String
}

struct ResetBody: Decodable {
    let token: String
    let new_password: String
}
