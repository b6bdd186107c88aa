import Core
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// One writer per study at a time: callers queue behind the study's current sync.
actor StudyLocks {
    var held: [String: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ key: String) async {
        if held[key] == nil {
            held[key] = []
            return
        }
        await withCheckedContinuation { held[key]!.append($0) }
    }

    func release(_ key: String) {
        guard var waiting = held[key], !waiting.isEmpty else {
            held[key] = nil
            return
        }
        let next = waiting.removeFirst()
        held[key] = waiting
        next.resume()
    }
}

/// Coalesces the rewrites asked for in quick succession (a modality sending a series one
/// instance per STOW request): one rewrite per study, `delay` after the first request; a
/// request arriving once that rewrite has started schedules the next.
actor StudySyncQueue {
    var scheduled: Set<String> = []

    func schedule(_ key: String, after delay: Duration, _ work: @escaping @Sendable () async -> Void) {
        guard scheduled.insert(key).inserted else { return }
        Task {
            try? await Task.sleep(for: delay)
            self.started(key)
            await work()
        }
    }

    func started(_ key: String) { scheduled.remove(key) }
}

/// The work DIMSE associations leave owed when they end (ImagingStudy rewrites, audit records),
/// done in the background one batch at a time; what several associations owe the same tenant
/// at once is done together. The index records it as owed (`change_seq`, `dicom_audit_pending`)
/// before the association ends, so a stop before it is done loses nothing: the sweep settles it.
actor DeferredFinisher {
    private var owed: [TenantID: Set<String>] = [:]
    private var draining: Task<Void, Never>?

    func add(_ studies: Set<String>, tenant: TenantID, finish: @escaping @Sendable (Set<String>, TenantID) async -> Void) {
        owed[tenant, default: []].formUnion(studies)
        guard draining == nil else { return }
        draining = Task { await self.drain(finish) }
    }

    private func drain(_ finish: @Sendable (Set<String>, TenantID) async -> Void) async {
        while let (tenant, studies) = owed.first {
            owed[tenant] = nil
            await finish(studies, tenant)
        }
        draining = nil
    }

    /// Returns once nothing is owed.
    func idle() async {
        while let draining { await draining.value }
    }
}

extension ImagingService {
    /// Hands what an association owes to the background finisher (see `DeferredFinisher`).
    public func finishLater(_ studies: Set<String>, tenant: TenantID) async {
        await finisher.add(studies, tenant: tenant) { studies, tenant in await self.finishDeferred(studies, tenant: tenant) }
    }

    /// Waits until the background finisher has done what associations owed.
    public func deferredWorkDone() async { await finisher.idle() }

    /// Rewrites these studies' ImagingStudy and writes the audit records owed for them shortly
    /// (`finishDeferred`), coalescing with other stores into them; the index marks both as owed
    /// until then, so that nothing is lost if the process stops.
    public func scheduleSync(_ studies: Set<String>, tenant: TenantID) async {
        for study in studies {
            await syncQueue.schedule("\(tenant.rawValue)|\(study)", after: .milliseconds(configuration.studySyncDelayMilliseconds)) {
                await self.finishDeferred([study], tenant: tenant)
            }
        }
    }

    /// Rewrites the ImagingStudy of each study from the index (or deletes it when the study
    /// has no instance left). Failures are logged: the study stays marked and the sweep
    /// (`syncStaleStudies`) tries again.
    public func syncImagingStudies(_ studies: Set<String>, tenant: TenantID) async {
        for study in studies.sorted() {
            do {
                try await syncImagingStudy(study, tenant: tenant)
            } catch {
                logger.error("rewriting an ImagingStudy failed", metadata: ["study": "\(study)", "error": "\(String(reflecting: error))"])
            }
        }
    }

    /// What a DIMSE association owes for the studies it stored into: their ImagingStudy
    /// rewrites and their audit records.
    public func finishDeferred(_ studies: Set<String>, tenant: TenantID) async {
        await syncImagingStudies(studies, tenant: tenant)
        do {
            // In slices: an association may have filled thousands of one-instance studies.
            let all = studies.sorted()
            for chunk in all.chunks(of: 500) {
                try await writePendingAudits(tenant: tenant, studies: Set(chunk), before: nil)
            }
        } catch {
            logger.error("writing the DICOM audit records of an association failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Writes the owed audit records (of `studies`, or all those untouched since `before`) and
    /// removes what they settle, in one transaction. Two settlers may read the same owed row (a
    /// study's scheduled rewrite and the association finisher or the sweep): each settles it
    /// only if it is still owed as read, and the one that finds it settled meanwhile rolls back
    /// its records and reads again, so no instance is audited twice.
    func writePendingAudits(tenant: TenantID, studies: Set<String>?, before: Int64?) async throws {
        for attempt in 1...5 {
            do {
                return try await settlePendingAudits(tenant: tenant, studies: studies, before: before)
            } catch is SettledMeanwhile where attempt < 5 {
                continue
            }
        }
    }

    private struct SettledMeanwhile: Error {}

    private func settlePendingAudits(tenant: TenantID, studies: Set<String>?, before: Int64?) async throws {
        var sql: SQLQueryString = "SELECT study_uid, agent, patient_ref, instances FROM dicom_audit_pending WHERE tenant_id = \(bind: tenant.rawValue)"
        if let studies { sql += " AND study_uid IN (\(binds: Array(studies)))" }
        if let before { sql += " AND updated_at < \(bind: before)" }
        let finalSQL = sql
        let rows = try await database.read { database in try await database.raw(finalSQL).all() }
        guard !rows.isEmpty else { return }
        var records: [AuditRecord] = []
        var settled: [(study: String, agent: String, instances: Int)] = []
        for row in rows {
            let study = try row.decode(column: "study_uid", as: String.self)
            let agentJSON = try row.decode(column: "agent", as: String.self)
            let instances = try row.decode(column: "instances", as: Int.self)
            let agent = try JSONDecoder().decode(AuditAgent.self, from: Data(agentJSON.utf8))
            let patient = try row.decode(column: "patient_ref", as: String?.self)
            records.append(AuditRecord(
                agent: agent, kind: .dicom(.instancesTransferred), action: .create, entities: ["\(Self.resourceType)/\(study)"],
                patients: patient.map { [$0] } ?? [], detail: "\(instances) instance(s) stored"))
            settled.append((study, agentJSON, instances))
        }
        let t = tenant.rawValue
        let settledRows = settled
        _ = try await fhir.transaction(HygieResources.transaction([]), as: .system(tenant), audit: records) { database in
            for entry in settledRows {
                // Instances stored meanwhile stay owed; a row another settler took is not
                // taken twice (PostgreSQL re-reads it once that settler has committed).
                let still = try await database.raw(
                    """
                    UPDATE dicom_audit_pending SET instances = instances - \(bind: entry.instances)
                    WHERE tenant_id = \(bind: t) AND study_uid = \(bind: entry.study) AND agent = \(bind: entry.agent)
                        AND instances >= \(bind: entry.instances)
                    RETURNING instances
                    """
                ).first()
                if still == nil { throw SettledMeanwhile() }
            }
            try await database.raw("DELETE FROM dicom_audit_pending WHERE tenant_id = \(bind: t) AND instances <= 0").run()
        }
    }

    /// Every study whose ImagingStudy is behind its index (after a crash, or a failed sync),
    /// rewritten, and the audit records associations left owing for more than a minute
    /// written; the marks of unflushed files older than a minute checked (`recoverUnflushed`);
    /// returns how many studies were rewritten.
    public func syncStaleStudies() async throws -> Int {
        try await recoverUnflushed(before: now() - 60_000)
        let tenants = try await database.read { database in
            try await database.raw("SELECT DISTINCT tenant_id FROM dicom_audit_pending").all().map { try $0.decode(column: "tenant_id", as: String.self) }
        }
        for tenant in tenants { try await writePendingAudits(tenant: TenantID(tenant), studies: nil, before: now() - 60_000) }
        let rows = try await database.read { database in
            try await database.raw("SELECT tenant_id, study_uid FROM dicom_studies WHERE change_seq > synced_seq LIMIT 1000").all()
        }
        for row in rows {
            await syncImagingStudies([try row.decode(column: "study_uid", as: String.self)], tenant: TenantID(try row.decode(column: "tenant_id", as: String.self)))
        }
        return rows.count
    }

    func syncImagingStudy(_ study: String, tenant: TenantID) async throws {
        let key = "\(tenant.rawValue)|\(study)"
        await studyLocks.acquire(key)
        do {
            try await writeImagingStudy(study, tenant: tenant)
            await studyLocks.release(key)
        } catch {
            await studyLocks.release(key)
            throw error
        }
    }

    /// Under the study's lock: the ImagingStudy as the index has it now, written with the
    /// version read as a precondition (a person editing it through /fhir meanwhile makes the
    /// write start over), and `synced_seq` set to the change it reflects, in one transaction.
    private func writeImagingStudy(_ study: String, tenant: TenantID) async throws {
        let t = tenant.rawValue
        for attempt in 1...5 {
            let row = try await database.read { database in
                try await database.raw(
                    """
                    SELECT patient_ref, change_seq, synced_seq, deleted_at, instance_count, study_date, study_time, description, accession
                    FROM dicom_studies WHERE tenant_id = \(bind: t) AND study_uid = \(bind: study)
                    """
                ).first()
            }
            guard let row else { return }
            let sequence = try row.decode(column: "change_seq", as: Int64.self)
            guard sequence > (try row.decode(column: "synced_seq", as: Int64.self)) else { return }
            var entries: [JSON] = []
            if let patient = try row.decode(column: "patient_ref", as: String?.self) {
                let current = try? await fhir.read(Self.resourceType, study, as: .system(tenant))
                let live = current.map { !$0.isDeleted } ?? false
                let series = try await seriesSummaries(study: study, tenant: tenant)
                if try row.decode(column: "deleted_at", as: Int64?.self) != nil || series.isEmpty {
                    if live { entries.append(HygieResources.delete("\(Self.resourceType)/\(study)")) }
                } else {
                    let attributes = StudyAttributes(
                        date: try row.decode(column: "study_date", as: String.self), time: try row.decode(column: "study_time", as: String.self),
                        description: try row.decode(column: "description", as: String.self), accession: try row.decode(column: "accession", as: String.self))
                    entries.append(HygieResources.put(
                        imagingStudy(study: study, patient: patient, attributes: attributes, series: series), ifMatch: live ? current?.version : nil))
                }
            }
            do {
                _ = try await fhir.transaction(HygieResources.transaction(entries), as: .system(tenant), audit: []) { database in
                    try await database.raw(
                        "UPDATE dicom_studies SET synced_seq = \(bind: sequence) WHERE tenant_id = \(bind: t) AND study_uid = \(bind: study) AND synced_seq < \(bind: sequence)"
                    ).run()
                }
                return
            } catch let error as FHIRError where (error.status == 412 || error.status == 409) && attempt < 5 {
                continue
            }
        }
    }
}
