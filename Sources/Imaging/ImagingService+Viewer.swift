import Core
import Crypto
import FHIRStore
import Foundation
import SQLKit
import Storage

/// A temporary credential that opens one study, read-only, in a viewer.
public struct ViewerSession: Sendable, Equatable {
    public var token: String
    public var study: String
    /// Epoch milliseconds.
    public var expiresAt: Int64
}

/// Who a viewer token speaks for.
public struct ViewerGrant: Sendable, Equatable {
    public var account: String
    public var study: String
}

extension ImagingService {
    /// Prefix of viewer tokens, so that `/dicomweb` tells them from access tokens.
    public static let viewerTokenPrefix = "hv_"

    /// Opens a viewer session on a study the caller may see (404 otherwise) for `account`;
    /// past the per-account limit the oldest sessions close.
    public func openViewerSession(study: String, account: String, caller: Caller) async throws -> ViewerSession {
        let visibleStudy = try await database.read { database in
            try await database.raw("SELECT s.study_uid FROM dicom_studies s WHERE s.study_uid = \(bind: study) AND " + self.visible(caller, oneStudy: true)).first()
        }
        guard visibleStudy != nil else { throw ServiceError.notFound("Study \(study)") }
        let token = Self.viewerTokenPrefix + Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64URLEncoded
        let now = now()
        let expires = now + Int64(configuration.viewerSessionLifetime) * 1000
        let tenant = caller.tenant.rawValue
        let limit = max(1, configuration.viewerSessionsPerAccount)
        try await database.transaction { database in
            try await database.raw("DELETE FROM dicom_viewer_sessions WHERE expires_at <= \(bind: now)").run()
            try await database.raw(
                """
                INSERT INTO dicom_viewer_sessions (token_hash, tenant_id, account_id, study_uid, created_at, expires_at)
                VALUES (\(bind: Self.hash(token)), \(bind: tenant), \(bind: account), \(bind: study), \(bind: now), \(bind: expires))
                """
            ).run()
            // Keep the newest `limit` sessions of the account.
            try await database.raw(
                """
                DELETE FROM dicom_viewer_sessions WHERE tenant_id = \(bind: tenant) AND account_id = \(bind: account) AND token_hash NOT IN (
                    SELECT token_hash FROM dicom_viewer_sessions WHERE tenant_id = \(bind: tenant) AND account_id = \(bind: account)
                    ORDER BY created_at DESC, token_hash LIMIT \(literal: limit))
                """
            ).run()
        }
        return ViewerSession(token: token, study: study, expiresAt: expires)
    }

    /// The account and study of a live viewer token; nil when unknown, closed or expired.
    public func viewerGrant(token: String, tenant: TenantID) async throws -> ViewerGrant? {
        guard token.hasPrefix(Self.viewerTokenPrefix) else { return nil }
        let row = try await database.read { database in
            try await database.raw(
                """
                SELECT account_id, study_uid FROM dicom_viewer_sessions
                WHERE token_hash = \(bind: Self.hash(token)) AND tenant_id = \(bind: tenant.rawValue) AND expires_at > \(bind: self.now())
                """
            ).first()
        }
        guard let row else { return nil }
        return ViewerGrant(account: try row.decode(column: "account_id", as: String.self), study: try row.decode(column: "study_uid", as: String.self))
    }

    static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Array(token.utf8)))
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
