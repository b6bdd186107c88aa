import Core
import Crypto
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage
import Synchronization

/// Instances indexed while their file was still being flushed (see `StoreBatch`). The index
/// transaction and the file's flush run at once; the store answers once both are done. Until
/// the file is known flushed, its instance stays marked in `dicom_unflushed`, so that after a
/// power loss, when the commit may have reached the disk but not the file, a restart finds the
/// instances to check: a file missing or not matching its digest has its instance dropped from
/// the index (the sender, which had no answer, sends it again). Marks are cleared in the next
/// index transaction, for free, or by the sweep.
extension ImagingService {
    /// Inside an index transaction: clears the marks of files flushed since the last one, marks
    /// the instances of `writes` (files still being flushed) and waits until each of those files
    /// reads whole, so that no reader of the committed rows finds half a file. Returns the
    /// tokens cleared, to `forget` once the transaction has committed.
    func markUnflushed(_ writes: [StoreBatch.BlobWrite], tenant: TenantID, now: Int64, on database: any SQLDatabase) async throws -> [Int64] {
        let t = tenant.rawValue
        let cleared = Array(flushedMarks.withLock { $0[tenant] ?? [] })
        try await deleteMarks(cleared, tenant: tenant, on: database)
        for chunk in writes.chunks(of: 200) {
            let rows = chunk.map { write -> SQLQueryString in
                "(\(bind: t), \(bind: write.sop), \(bind: write.token), \(bind: now))"
            }
            try await database.raw(
                """
                INSERT INTO dicom_unflushed (tenant_id, sop_uid, token, created_at) VALUES \(rows.joined(separator: ", "))
                ON CONFLICT (tenant_id, sop_uid) DO UPDATE SET token = excluded.token, created_at = excluded.created_at
                """
            ).run()
        }
        for write in writes { try await write.readable.value }
        return cleared
    }

    func deleteMarks(_ tokens: [Int64], tenant: TenantID, on database: any SQLDatabase) async throws {
        for chunk in tokens.chunks(of: 500) {
            try await database.raw(
                "DELETE FROM dicom_unflushed WHERE tenant_id = \(bind: tenant.rawValue) AND token IN (\(binds: chunk))"
            ).run()
        }
    }

    /// The files of these writes are flushed: their marks go with the next index transaction.
    func flushed(_ tokens: [Int64], tenant: TenantID) {
        guard blobs.writesAreBounded, !tokens.isEmpty else { return }
        flushedMarks.withLock { $0[tenant, default: []].formUnion(tokens) }
    }

    /// Marks a committed transaction has cleared.
    func forget(_ tokens: [Int64], tenant: TenantID) {
        guard !tokens.isEmpty else { return }
        flushedMarks.withLock { marks in
            marks[tenant]?.subtract(tokens)
            if marks[tenant]?.isEmpty == true { marks[tenant] = nil }
        }
    }

    /// An instance whose rows committed before its file was flushed, and the write's token.
    struct Unflushed: Sendable {
        var sop: String
        var study: String
        var series: String
        var token: Int64
        /// The agent whose owed "Instances Transferred" row counted it (`owedAgent`); nil when
        /// not known (a restart's check) or not audited (the server's own work).
        var agent: String? = nil
    }

    /// Instances whose rows committed but whose file could not be flushed (or proved missing or
    /// altered after a restart): marked deleted again, with their marks, so that the sender's
    /// next try stores them anew, and taken out of the audit record their agent still owes.
    /// False when that failed (the marks stay for the sweep).
    @discardableResult
    func dropUnflushed(_ instances: [Unflushed], tenant: TenantID) async -> Bool {
        let now = now()
        let studies = Dictionary(grouping: instances, by: \.study)
        do {
            try await database.transaction { database in
                for (study, dropped) in studies.sorted(by: { $0.key < $1.key }) {
                    try await self.markDeleted(
                        sops: dropped.map(\.sop), series: Array(Set(dropped.map(\.series))), study: study, tenant: tenant, now: now,
                        on: database)
                }
                try await self.deleteMarks(instances.map(\.token), tenant: tenant, on: database)
                let owed = Dictionary(grouping: instances.compactMap { instance in instance.agent.map { OwedAudit(study: instance.study, agent: $0) } }) { $0 }
                for (key, dropped) in owed.sorted(by: { ($0.key.study, $0.key.agent) < ($1.key.study, $1.key.agent) }) {
                    // Still owed (not yet written): the record will not name them. Written
                    // meanwhile, it names them; the drop is logged below.
                    try await database.raw(
                        """
                        UPDATE dicom_audit_pending SET instances = instances - \(bind: dropped.count)
                        WHERE tenant_id = \(bind: tenant.rawValue) AND study_uid = \(bind: key.study) AND agent = \(bind: key.agent)
                        """
                    ).run()
                }
                if !owed.isEmpty {
                    try await database.raw("DELETE FROM dicom_audit_pending WHERE tenant_id = \(bind: tenant.rawValue) AND instances <= 0").run()
                }
            }
        } catch {
            // The marks stay: the sweep tries again.
            logger.error("dropping DICOM instances whose file was not flushed failed", metadata: ["error": "\(String(reflecting: error))"])
            return false
        }
        logger.error("DICOM instances dropped: their file did not reach the disk", metadata: ["instances": "\(instances.map(\.sop))"])
        for study in studies.keys { cache.invalidate(study: study, tenant: tenant) }
        await syncImagingStudies(Set(studies.keys), tenant: tenant)
        return true
    }

    /// What `recoverUnflushed` did: marks cleared (the file found whole and flushed, or the
    /// instance gone), instances dropped.
    public struct UnflushedRecovery: Sendable, Equatable {
        public var cleared = 0
        public var dropped = 0

        public init(cleared: Int = 0, dropped: Int = 0) {
            self.cleared = cleared
            self.dropped = dropped
        }
    }

    /// Clears the marks of flushed files not yet cleared, then checks the instances marked
    /// before `before` (milliseconds): at start-up every mark (a previous run's, after a crash
    /// or a stop), in the sweep those a failure left behind. A file that reads whole with its
    /// instance's digest is flushed and its mark cleared; a missing or altered one has its
    /// instance dropped. A file that cannot be read for another reason keeps its mark.
    @discardableResult
    public func recoverUnflushed(before: Int64) async throws -> UnflushedRecovery {
        for (tenant, tokens) in flushedMarks.withLock({ $0 }) {
            try await database.transaction { database in try await self.deleteMarks(Array(tokens), tenant: tenant, on: database) }
            forget(Array(tokens), tenant: tenant)
        }
        var recovery = UnflushedRecovery()
        let rows = try await database.read { database in
            try await database.raw(
                """
                SELECT u.tenant_id, u.token, i.sop_uid, i.study_uid, i.series_uid, i.blob_key, i.digest, i.deleted_at
                FROM dicom_unflushed u LEFT JOIN dicom_instances i ON i.tenant_id = u.tenant_id AND i.sop_uid = u.sop_uid
                WHERE u.created_at < \(bind: before) ORDER BY u.tenant_id, u.created_at
                """
            ).all()
        }
        var cleared: [TenantID: [Int64]] = [:]
        var dropped: [TenantID: [Unflushed]] = [:]
        for row in rows {
            let tenant = TenantID(try row.decode(column: "tenant_id", as: String.self))
            let token = try row.decode(column: "token", as: Int64.self)
            guard let sop = try row.decode(column: "sop_uid", as: String?.self), try row.decode(column: "deleted_at", as: Int64?.self) == nil else {
                cleared[tenant, default: []].append(token)
                continue
            }
            let key = try row.decode(column: "blob_key", as: String.self)
            let digest = try row.decode(column: "digest", as: String.self)
            var whole = false
            do {
                whole = Hex.encode(SHA256.hash(data: try await blobs.get(key))) == digest
                if whole { try await blobs.flush(key) }
            } catch BlobStoreError.notFound, BlobStoreError.corrupt {
                whole = false
            } catch {
                logger.error("checking an unflushed DICOM file failed; it is checked again later", metadata: ["sop": "\(sop)", "error": "\(String(reflecting: error))"])
                continue
            }
            if whole {
                cleared[tenant, default: []].append(token)
            } else {
                dropped[tenant, default: []].append(Unflushed(
                    sop: sop, study: try row.decode(column: "study_uid", as: String.self), series: try row.decode(column: "series_uid", as: String.self),
                    token: token))
            }
        }
        for (tenant, tokens) in cleared {
            try await database.transaction { database in try await self.deleteMarks(tokens, tenant: tenant, on: database) }
            recovery.cleared += tokens.count
        }
        for (tenant, instances) in dropped {
            if await dropUnflushed(instances, tenant: tenant) { recovery.dropped += instances.count }
        }
        return recovery
    }
}
