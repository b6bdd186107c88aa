import Storage

/// Identity's tables: accounts, refresh tokens and token-signing keys. Names, birth dates and
/// roles' details live in the FHIR resources behind each account (Practitioner,
/// PractitionerRole, Patient); these tables hold the machinery (DESIGN §3).
public enum IdentityMigrations {
    public static let all: [Migration] = [accounts, oauthClients, breakGlass, webSessions, refreshScopes, passwordResets, totp]

    static let accounts = Migration(
        id: 200, name: "accounts, refresh tokens and signing keys",
        up: { ddl in
            [
                """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, username TEXT NOT NULL, email TEXT,
                    role TEXT NOT NULL, hospital_id TEXT, practitioner_id TEXT, patient_id TEXT,
                    password_hash TEXT NOT NULL, must_change_password \(ddl.boolean) NOT NULL, active \(ddl.boolean) NOT NULL,
                    created_at \(ddl.bigint) NOT NULL, updated_at \(ddl.bigint) NOT NULL, password_changed_at \(ddl.bigint))
                """,
                "CREATE UNIQUE INDEX accounts_username ON accounts (tenant_id, username)",
                "CREATE INDEX accounts_hospital ON accounts (tenant_id, hospital_id, role)",
                """
                CREATE TABLE refresh_tokens (
                    token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, account_id TEXT NOT NULL, family_id TEXT NOT NULL,
                    issued_at \(ddl.bigint) NOT NULL, expires_at \(ddl.bigint) NOT NULL, used_at \(ddl.bigint), revoked_at \(ddl.bigint))
                """,
                "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
                "CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id)",
                """
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, algorithm TEXT NOT NULL, public_jwk TEXT NOT NULL,
                    key_id TEXT NOT NULL, sealed_key \(ddl.blob) NOT NULL, created_at \(ddl.bigint) NOT NULL, retired_at \(ddl.bigint))
                """,
            ]
        },
        down: { _ in ["DROP TABLE signing_keys", "DROP TABLE refresh_tokens", "DROP TABLE accounts"] })

    static let oauthClients = Migration(
        id: 201, name: "oauth clients",
        up: { ddl in
            [
                """
                CREATE TABLE oauth_clients (
                    client_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, secret_hash TEXT,
                    grant_types TEXT NOT NULL, redirect_uris TEXT NOT NULL, scope TEXT NOT NULL,
                    active \(ddl.boolean) NOT NULL, created_by TEXT NOT NULL, created_at \(ddl.bigint) NOT NULL)
                """
            ]
        },
        down: { _ in ["DROP TABLE oauth_clients"] })

    /// The reason given is kept in the AuditEvent (encrypted), not here.
    static let breakGlass = Migration(
        id: 202, name: "break-the-glass grants",
        up: { ddl in
            [
                """
                CREATE TABLE break_glass_grants (
                    id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, account_id TEXT NOT NULL, patient_id TEXT NOT NULL,
                    granted_at \(ddl.bigint) NOT NULL, expires_at \(ddl.bigint) NOT NULL)
                """,
                "CREATE INDEX break_glass_account ON break_glass_grants (account_id, expires_at)",
            ]
        },
        down: { _ in ["DROP TABLE break_glass_grants"] })

    /// Web sessions (cookie digests) and OAuth authorization codes.
    static let webSessions = Migration(
        id: 203, name: "web sessions and authorization codes",
        up: { ddl in
            [
                """
                CREATE TABLE web_sessions (
                    token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, account_id TEXT NOT NULL, csrf_token TEXT NOT NULL,
                    created_at \(ddl.bigint) NOT NULL, last_seen_at \(ddl.bigint) NOT NULL)
                """,
                "CREATE INDEX web_sessions_account ON web_sessions (account_id)",
                """
                CREATE TABLE authorization_codes (
                    code_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, account_id TEXT NOT NULL,
                    redirect_uri TEXT NOT NULL, scope TEXT NOT NULL, code_challenge TEXT NOT NULL, nonce TEXT,
                    expires_at \(ddl.bigint) NOT NULL, used_at \(ddl.bigint))
                """,
            ]
        },
        down: { _ in ["DROP TABLE authorization_codes", "DROP TABLE web_sessions"] })

    /// Refresh tokens issued to OAuth clients keep the client and the scopes granted.
    static let refreshScopes = Migration(
        id: 204, name: "refresh token scopes",
        up: { _ in ["ALTER TABLE refresh_tokens ADD COLUMN client_id TEXT", "ALTER TABLE refresh_tokens ADD COLUMN scope TEXT"] },
        down: { _ in ["ALTER TABLE refresh_tokens DROP COLUMN scope", "ALTER TABLE refresh_tokens DROP COLUMN client_id"] })

    /// Single-use password reset links (digests of their tokens).
    static let passwordResets = Migration(
        id: 205, name: "password resets",
        up: { ddl in
            [
                """
                CREATE TABLE password_resets (
                    token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, account_id TEXT NOT NULL,
                    created_at \(ddl.bigint) NOT NULL, expires_at \(ddl.bigint) NOT NULL, used_at \(ddl.bigint))
                """,
                "CREATE INDEX password_resets_account ON password_resets (account_id)",
            ]
        },
        down: { _ in ["DROP TABLE password_resets"] })

    /// TOTP second factor per account (secret sealed with the tenant's data key) and the
    /// roles an admin requires it for (`scope` is a hospital id, or `*` for every hospital).
    static let totp = Migration(
        id: 206, name: "totp second factor",
        up: { ddl in
            [
                "ALTER TABLE accounts ADD COLUMN totp_secret \(ddl.blob)",
                "ALTER TABLE accounts ADD COLUMN totp_key_id TEXT",
                "ALTER TABLE accounts ADD COLUMN totp_enabled \(ddl.boolean) NOT NULL DEFAULT FALSE",
                "CREATE TABLE totp_requirements (tenant_id TEXT NOT NULL, scope TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (tenant_id, scope, role))",
            ]
        },
        down: { _ in
            [
                "DROP TABLE totp_requirements", "ALTER TABLE accounts DROP COLUMN totp_enabled", "ALTER TABLE accounts DROP COLUMN totp_key_id",
                "ALTER TABLE accounts DROP COLUMN totp_secret",
            ]
        })
}
