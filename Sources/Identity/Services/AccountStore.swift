import Access
import Core
import SQLKit
import Storage

/// The `accounts` table.
struct AccountStore: Sendable {
    let store: any SQLStore

    static let columns = "id, tenant_id, username, email, role, hospital_id, practitioner_id, patient_id, must_change_password, active, created_at, totp_enabled"

    func insert(_ account: Account, passwordHash: String, on database: any SQLDatabase) async throws {
        try await database.raw(
            """
            INSERT INTO accounts (id, tenant_id, username, email, role, hospital_id, practitioner_id, patient_id, password_hash,
                must_change_password, active, created_at, updated_at)
            VALUES (\(bind: account.id.rawValue), \(bind: account.tenant.rawValue), \(bind: account.username), \(bind: account.email),
                \(bind: account.role.rawValue), \(bind: account.hospital), \(bind: account.practitioner), \(bind: account.patient),
                \(bind: passwordHash), \(bind: account.mustChangePassword), \(bind: account.active), \(bind: account.createdAt), \(bind: account.createdAt))
            """
        ).run()
    }

    func find(_ id: AccountID, tenant: TenantID) async throws -> Account? {
        try await store.read { database in
            try await database.raw(
                "SELECT \(unsafeRaw: Self.columns) FROM accounts WHERE tenant_id = \(bind: tenant.rawValue) AND id = \(bind: id.rawValue)"
            ).first().map(Self.decode)
        }
    }

    func find(username: String, tenant: TenantID) async throws -> (Account, hash: String)? {
        try await store.read { database in
            guard
                let row = try await database.raw(
                    """
                    SELECT \(unsafeRaw: Self.columns), password_hash FROM accounts
                    WHERE tenant_id = \(bind: tenant.rawValue) AND username = \(bind: username.lowercased())
                    """
                ).first()
            else { return nil }
            return (try Self.decode(row), try row.decode(column: "password_hash", as: String.self))
        }
    }

    func passwordHash(_ id: AccountID) async throws -> String? {
        try await store.read { database in
            try await database.raw("SELECT password_hash FROM accounts WHERE id = \(bind: id.rawValue)").first()?
                .decode(column: "password_hash", as: String.self)
        }
    }

    /// Accounts of a hospital (or every hospital-admin account when `roles` asks for them).
    func list(tenant: TenantID, hospital: String?, roles: [Role]) async throws -> [Account] {
        try await store.read { database in
            var sql: SQLQueryString = "SELECT \(unsafeRaw: Self.columns) FROM accounts WHERE tenant_id = \(bind: tenant.rawValue)"
            if let hospital { sql += " AND hospital_id = \(bind: hospital)" }
            if !roles.isEmpty { sql += " AND role IN (\(binds: roles.map(\.rawValue)))" }
            sql += " ORDER BY username"
            return try await database.raw(sql).all().map(Self.decode)
        }
    }

    func count(role: Role, tenant: TenantID) async throws -> Int {
        try await store.read { database in
            try await database.raw(
                "SELECT COUNT(*) AS n FROM accounts WHERE tenant_id = \(bind: tenant.rawValue) AND role = \(bind: role.rawValue)"
            ).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    static func decode(_ row: any SQLRow) throws -> Account {
        guard let role = Role(rawValue: try row.decode(column: "role", as: String.self)) else {
            throw IdentityError(500, "corrupt-account", "An account has an unknown role.")
        }
        return Account(
            id: AccountID(try row.decode(column: "id", as: String.self)), tenant: TenantID(try row.decode(column: "tenant_id", as: String.self)),
            username: try row.decode(column: "username", as: String.self), email: try row.decode(column: "email", as: String?.self),
            role: role, hospital: try row.decode(column: "hospital_id", as: String?.self),
            practitioner: try row.decode(column: "practitioner_id", as: String?.self), patient: try row.decode(column: "patient_id", as: String?.self),
            mustChangePassword: try row.decode(column: "must_change_password", as: Bool.self), active: try row.decode(column: "active", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self), totpEnabled: try row.decode(column: "totp_enabled", as: Bool.self))
    }
}
