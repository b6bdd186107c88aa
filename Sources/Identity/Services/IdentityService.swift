import Access
import Core
import Crypto
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage
import Synchronization

/// Accounts, hospitals and sign-in (issue 3). Every administrative rule is asked of
/// `Policy.permits`; every account and the FHIR resources behind it are written in one
/// transaction.
public final class IdentityService: Sendable {
    public let fhir: FHIRStore
    let accounts: AccountStore
    let hasher: PasswordHasher
    public let signer: TokenSigner
    let clock: any WallClock
    let ids: any IDGenerator
    let throttle: LoginThrottle
    /// The hash of the default password, made once: every new account starts with the same,
    /// publicly known password, so one salt for all of them hides nothing, and creating an
    /// account costs no bcrypt work.
    let defaultHash = Mutex<String?>(nil)
    let logger: Logger
    /// `iss` of the tokens this server signs.
    public let issuer: String

    public static let accessTokenLifetime: TimeInterval = 3600
    public static let refreshTokenLifetime: TimeInterval = 7 * 24 * 3600

    public init(
        fhir: FHIRStore, signer: TokenSigner, clock: any WallClock, ids: any IDGenerator, issuer: String,
        hasher: PasswordHasher = PasswordHasher(), logger: Logger = Logger(label: "hygie.identity")
    ) {
        self.fhir = fhir
        self.accounts = AccountStore(store: fhir.database)
        self.hasher = hasher
        self.signer = signer
        self.clock = clock
        self.ids = ids
        self.throttle = LoginThrottle(clock: clock)
        self.issuer = issuer
        self.logger = logger
    }

    var database: any SQLStore { fhir.database }

    func now() -> Int64 { Int64(clock.now().timeIntervalSince1970 * 1000) }

    // MARK: reading accounts

    public func account(_ id: AccountID, tenant: TenantID) async throws -> Account? {
        try await accounts.find(id, tenant: tenant)
    }

    /// The account a valid access token names, if it is still active.
    public func authenticate(accessToken: String) async throws -> (Account, claims: JSON)? {
        guard let (claims, subject, tenant) = try await accessClaims(accessToken),
            let account = try await accounts.find(AccountID(subject), tenant: tenant), account.active
        else { return nil }
        return (account, claims)
    }

    /// The claims, subject and tenant of an access token this server signed and that has not
    /// expired.
    func accessClaims(_ token: String) async throws -> (claims: JSON, subject: String, tenant: TenantID)? {
        guard let claims = try await signer.verifyReloading(token), claims["typ"]?.stringValue == "access", claims["iss"]?.stringValue == issuer,
            let subject = claims["sub"]?.stringValue, let tenant = claims["tid"]?.stringValue
        else { return nil }
        return (claims, subject, TenantID(tenant))
    }

    // MARK: the first super admin

    /// Creates the first super admin when the tenant has none; returns its username if it did.
    public func bootstrapSuperAdmin(username: String = "superadmin", tenant: TenantID) async throws -> String? {
        guard try await accounts.count(role: .superAdmin, tenant: tenant) == 0 else { return nil }
        _ = try await createAccount(
            NewAccount(username: username, email: nil, given: "Super", family: "Admin", role: .superAdmin), hospital: nil, tenant: tenant)
        return username
    }

    /// Creates a super admin whatever exists (`hygie create-superadmin`).
    public func createSuperAdmin(username: String, email: String?, tenant: TenantID) async throws -> Account {
        try await createAccount(NewAccount(username: username, email: email, given: "Super", family: "Admin", role: .superAdmin), hospital: nil, tenant: tenant)
    }

    // MARK: creating accounts

    /// What an admin or secretary types to create an account.
    public struct NewAccount: Sendable {
        public var username: String
        public var email: String?
        public var given: String
        public var family: String
        public var role: Role
        public var specialty: Specialty?
        /// RPPS number (11 digits) of a health professional.
        public var rpps: String?
        public var birthDate: String?
        public var gender: String?

        public init(
            username: String, email: String?, given: String, family: String, role: Role, specialty: Specialty? = nil, rpps: String? = nil,
            birthDate: String? = nil, gender: String? = nil
        ) {
            self.username = username
            self.email = email
            self.given = given
            self.family = family
            self.role = role
            self.specialty = specialty
            self.rpps = rpps
            self.birthDate = birthDate
            self.gender = gender
        }
    }

    /// Writes the account row and the resources behind it (Practitioner + PractitionerRole,
    /// or Patient + CareTeam) in one transaction. The password is the default one, to be
    /// changed at first sign-in.
    func createAccount(
        _ new: NewAccount, hospital: String?, linkTo physicians: [String] = [], tenant: TenantID, by principal: Principal? = nil
    ) async throws -> Account {
        try Self.check(new)
        let username = new.username.lowercased()
        if try await accounts.find(username: username, tenant: tenant) != nil {
            throw IdentityError.conflict("The username \(username) is taken.")
        }
        let hash: String
        if let made = defaultHash.withLock({ $0 }) {
            hash = made
        } else {
            hash = try await hasher.hash(PasswordHasher.defaultPassword)
            defaultHash.withLock { $0 = hash }
        }
        let resourceID = ids.makeID()
        var account = Account(
            id: AccountID(ids.makeID()), tenant: tenant, username: username, email: new.email, role: new.role, hospital: hospital,
            practitioner: nil, patient: nil, mustChangePassword: true, active: true, createdAt: now())
        var entries: [JSON] = []
        if new.role == .patient {
            account.patient = resourceID
            entries.append(Self.put(Resources.patient(id: resourceID, new)))
            entries.append(Self.put(Resources.careTeam(id: ids.makeID(), patient: resourceID, practitioners: physicians)))
        } else {
            account.practitioner = resourceID
            entries.append(Self.put(Resources.practitioner(id: resourceID, new)))
            entries.append(Self.put(Resources.practitionerRole(id: ids.makeID(), practitioner: resourceID, hospital: hospital, new)))
        }
        let created = account
        let store = accounts
        do {
            let audit = principal.map { principal in
                AuditRecord(
                    agent: Self.agent(principal), kind: .accountChange, action: .create, entities: entries.compactMap { entry in
                        entry["request"]?["url"]?.stringValue
                    }, patients: created.patient.map { [$0] } ?? [], detail: "created \(created.role.rawValue) account \(created.id)")
            }
            _ = try await fhir.transaction(Resources.transaction(entries), as: .system(tenant), audit: audit.map { [$0] } ?? []) { database in
                try await store.insert(created, passwordHash: hash, on: database)
            }
        } catch let error where StorageError.classify(error) == .uniqueViolation {
            throw IdentityError.conflict("The username \(username) is taken.")
        }
        logger.info("account created", metadata: ["account": "\(created.id)", "role": "\(created.role.rawValue)"])
        return created
    }

    static func check(_ new: NewAccount) throws {
        let username = new.username.lowercased()
        guard (3...64).contains(username.count), username.allSatisfy({ $0.isLetter || $0.isNumber || ".-_@".contains($0) }) else {
            throw IdentityError.invalid("A username has 3 to 64 letters, digits or . - _ @.")
        }
        if let email = new.email, !(email.contains("@") && email.count <= 254) {
            throw IdentityError.invalid("The e-mail address is not valid.")
        }
        guard !new.family.trimmingCharacters(in: .whitespaces).isEmpty else { throw IdentityError.invalid("The family name is required.") }
        if let rpps = new.rpps, !(rpps.count == 11 && rpps.allSatisfy(\.isASCII) && rpps.allSatisfy(\.isNumber)) {
            throw IdentityError.invalid("An RPPS number has 11 digits.")
        }
        if new.specialty != nil, new.role != .physician { throw IdentityError.invalid("Only physicians have a specialty.") }
    }

    /// Who is named in the audit trail for a principal's actions.
    static func agent(_ principal: Principal) -> AuditAgent {
        principal.auditAgent
    }

    /// Identity writes the directory's resources itself, after its own checks, in the name of
    /// the principal who asked (so that the audit trail names them).
    static func serviceCaller(_ principal: Principal) -> Caller {
        principal.serviceCaller
    }

    /// Writes one resource through the store's interaction path (audited).
    func put(_ resource: JSON, by principal: Principal) async throws {
        let type = resource["resourceType"]?.stringValue ?? ""
        let id = resource["id"]?.stringValue ?? ""
        _ = try await fhir.perform(
            FHIRRequest(method: "PUT", target: .instance(type, id), body: .resource(resource), returnPreference: .minimal),
            as: Self.serviceCaller(principal))
    }

    static func put(_ resource: JSON) -> JSON {
        HygieResources.put(resource)
    }
}

extension IdentityService {
    /// `hygie serve --demo-open`: demonstration accounts keep the default password without
    /// being made to change it. Only the demo loader calls this, on accounts it just created.
    public func accountExists(username: String, tenant: TenantID) async throws -> Bool {
        try await accounts.find(username: username, tenant: tenant) != nil
    }

    /// The principal of an active account that acts without signing in (a DICOM peer's
    /// service account); nil when the account does not exist or is disabled.
    public func servicePrincipal(username: String, tenant: TenantID, address: String?) async throws -> Principal? {
        guard let (account, _) = try await accounts.find(username: username, tenant: tenant), account.active else { return nil }
        return account.principal(address: address, breakGlass: try await breakGlassPatients(account))
    }

    public func openDemoAccount(username: String, tenant: TenantID) async throws {
        try await database.transaction { database in
            try await database.raw(
                "UPDATE accounts SET must_change_password = \(bind: false) WHERE tenant_id = \(bind: tenant.rawValue) AND username = \(bind: username)"
            ).run()
        }
    }
}
