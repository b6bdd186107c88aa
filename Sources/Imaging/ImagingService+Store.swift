import Core
import Crypto
import DICOM
import FHIR
import FHIRStore
import Foundation
import Logging
import SQLKit
import Storage

/// One instance the archive accepted (PS3.18 §10.5.3 ReferencedSOPSequence item).
public struct StoredInstance: Sendable, Equatable {
    public var sopClass: String
    public var sopInstance: String
    public var study: String
    public var series: String
    /// Set when stored with a warning (already stored with the same bytes: none).
    public var warning: UInt16?
}

/// One instance the archive refused, with the DICOM status that says why (PS3.4 §B.2.3,
/// PS3.18 Table 10.5.3-2) and a sentence for people.
public struct FailedInstance: Sendable, Equatable {
    public var sopClass: String?
    public var sopInstance: String?
    public var reason: UInt16
    public var message: String

    public init(sopClass: String?, sopInstance: String?, reason: UInt16, message: String) {
        self.sopClass = sopClass
        self.sopInstance = sopInstance
        self.reason = reason
        self.message = message
    }

    public static let cannotUnderstand: UInt16 = 0xC000
    public static let duplicate: UInt16 = 0x0111
    public static let notAuthorized: UInt16 = 0x0124
    public static let studyMismatch: UInt16 = 0xA900
    public static let outOfResources: UInt16 = 0xA700
    public static let processingFailure: UInt16 = 0x0110
}

public struct StoreResult: Sendable {
    public var stored: [StoredInstance] = []
    public var failed: [FailedInstance] = []
}

/// Where stored instances go and in whose name.
public struct StoreTarget: Sendable {
    public var caller: Caller
    /// The study of `POST /studies/{uid}`: instances of other studies are refused.
    public var study: String?
    /// The patient an upload is filed under (the web upload names it); nil to match by
    /// PatientID and issuer.
    public var patient: String?
    /// Part of a DIMSE association: the ImagingStudy rewrite and the "Instances Transferred"
    /// audit record every store leaves owed in the index (`change_seq`, `dicom_audit_pending`)
    /// are settled once per study when the association ends (`finishDeferred`), instead of
    /// shortly after the store; a crash loses neither (the sweep settles them).
    public var deferred = false
    /// The hospital under which images no patient matches are held for reconciliation (a
    /// modality's service account); nil: such images are refused (people file under a patient).
    public var holdsUnmatchedFor: String?

    public init(caller: Caller, study: String? = nil, patient: String? = nil, deferred: Bool = false, holdsUnmatchedFor: String? = nil) {
        self.caller = caller
        self.study = study
        self.patient = patient
        self.deferred = deferred
        self.holdsUnmatchedFor = holdsUnmatchedFor
    }
}

/// A group of instances stored together (one STOW-RS request, one DIMSE association's burst):
/// each is checked as it arrives and its blob write started, then one transaction indexes them
/// all and appends the audit record. Blob writes run while the next instance is read and while
/// the index rows are written. On a local disk the transaction commits once every file it
/// names is readable whole, while the last files are still being flushed, and marks those
/// instances unflushed (`dicom_unflushed`): the two flushes, the files' and the commit's, run
/// at once. The batch answers only once every file is flushed; one that cannot be flushed has
/// its instance dropped from the index again, and a restart after a power loss checks the
/// files of the instances still marked (`recoverUnflushed`). A network store's writes end
/// before the transaction begins. An instance whose blob could not be written fails alone; if
/// the transaction fails, the blobs it would have indexed are removed: nothing half-written
/// remains.
public struct StoreBatch: Sendable {
    let service: ImagingService
    let target: StoreTarget
    var result = StoreResult()
    var pending: [PendingInstance] = []
    var patientMatches: [String: String?] = [:]
    /// Study rows read by this batch: a series of hundreds of instances reads its study once.
    var studies: [String: ImagingService.StudyRow?] = [:]
    var writable: [String: Bool] = [:]
    /// Blob writes not yet known to have finished, oldest first.
    var writes: [BlobWrite] = []

    struct BlobWrite: Sendable {
        var sop: String
        /// Tells this write's unflushed mark from another write's of the same instance.
        var token: Int64
        /// Ends once readers see the whole file (before it is flushed).
        var readable: Task<Void, any Error>
        /// Ends once the file is flushed.
        var task: Task<Void, any Error>

        init(sop: String, _ write: @escaping @Sendable (_ whenReadable: @escaping @Sendable () -> Void) async throws -> Void) {
            self.sop = sop
            token = Int64.random(in: 1...Int64.max)
            let (signal, readable) = AsyncThrowingStream<Void, any Error>.makeStream()
            self.readable = Task { for try await _ in signal {} }
            task = Task {
                do {
                    try await write { readable.finish() }
                    readable.finish()
                } catch {
                    readable.finish(throwing: error)
                    throw error
                }
            }
        }
    }

    /// Blob writes a batch lets run at once (each holds its instance's bytes until written).
    static let writesInFlight = 4
    /// From this size an instance's digest is computed aside (a 512×512 image: 0.4 ms of
    /// SHA-256, against a few microseconds to start a task).
    static let digestAside = 65_536

    struct PendingInstance: Sendable {
        var index: IndexedInstance
        var patient: String?
        var blobKey: String
        var size: Int
        var digest: String
        var metadata: [UInt8]
        var replacing: Bool
        /// Held for reconciliation under this hospital (no patient matched).
        var heldFor: String?
    }

    init(service: ImagingService, target: StoreTarget) {
        self.service = service
        self.target = target
    }

    /// Checks, files and writes the blob of one instance; the outcome is recorded for `commit`.
    public mutating func add(_ bytes: [UInt8]) async {
        do {
            guard bytes.count <= service.configuration.maximumInstanceSize else {
                throw FailedInstance(sopClass: nil, sopInstance: nil, reason: FailedInstance.outOfResources,
                                     message: "The instance is larger than \(service.configuration.maximumInstanceSize) bytes.")
            }
            let file: DICOMFile
            let index: IndexedInstance
            do {
                file = try DICOMFile.read(bytes)
                index = try IndexedInstance(file)
            } catch let error as DICOMError {
                throw FailedInstance(sopClass: nil, sopInstance: nil, reason: FailedInstance.cannotUnderstand, message: error.description)
            }
            try await add(file: file, index: index, bytes: bytes)
        } catch let failure as FailedInstance {
            result.failed.append(failure)
        } catch {
            service.logger.error("storing a DICOM instance failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            result.failed.append(FailedInstance(sopClass: nil, sopInstance: nil, reason: FailedInstance.processingFailure, message: "The instance could not be stored."))
        }
    }

    mutating func add(file: DICOMFile, index: IndexedInstance, bytes: [UInt8]) async throws {
        func fail(_ reason: UInt16, _ message: String) -> FailedInstance {
            FailedInstance(sopClass: index.sopClass, sopInstance: index.sopUID, reason: reason, message: message)
        }
        // A large instance's digest is computed on another core while the index is read and
        // its file written.
        let digesting = bytes.count >= Self.digestAside ? Task { Hex.encode(SHA256.hash(data: bytes)) } : nil
        if let study = target.study, study != index.studyUID {
            throw fail(FailedInstance.studyMismatch, "The instance belongs to study \(index.studyUID), not to \(study) named in the request.")
        }
        if pending.contains(where: { $0.index.sopUID == index.sopUID }) {
            throw fail(FailedInstance.duplicate, "The same SOP instance appears twice in this request.")
        }
        let tenant = target.caller.tenant
        let existing = try await service.existingInstance(index.sopUID, tenant: tenant)
        let existingStudy: ImagingService.StudyRow?
        if let known = studies[index.studyUID] {
            existingStudy = known
        } else {
            existingStudy = try await service.studyRow(index.studyUID, tenant: tenant)
            studies[index.studyUID] = existingStudy
        }
        // The patient: named by the upload, else the one the study is already filed under,
        // else the Patient whose identifier is the PatientID.
        var patient = target.patient ?? existingStudy?.patient
        if patient == nil, !index.patientID.isEmpty {
            if let cached = patientMatches[index.patientID] {
                patient = cached
            } else {
                let match = try await service.matchPatient(id: index.patientID, issuer: index.issuer, tenant: tenant)
                patientMatches[index.patientID] = match
                patient = match
            }
        }
        if let existingPatient = existingStudy?.patient, let patient, existingPatient != patient {
            throw fail(FailedInstance.notAuthorized, "Study \(index.studyUID) is already filed under another patient.")
        }
        try await checkWrite(patient: patient, index: index)
        func digestOfBytes() async -> String {
            if let digesting { await digesting.value } else { Hex.encode(SHA256.hash(data: bytes)) }
        }
        // The digest decides only for an instance already stored; any other's file is written
        // while its digest is still being computed.
        var digest: String?
        var replacing = false
        if let existing, existing.deletedAt == nil {
            digest = await digestOfBytes()
            if existing.digest == digest {
                result.stored.append(StoredInstance(sopClass: index.sopClass, sopInstance: index.sopUID, study: index.studyUID, series: index.seriesUID))
                return
            }
            guard service.configuration.duplicates == .replace else {
                throw fail(FailedInstance.duplicate, "SOP instance \(index.sopUID) is already stored with different content.")
            }
            replacing = true
        }
        let key = ImagingService.blobKey(patient: patient, study: index.studyUID, series: index.seriesUID, sop: index.sopUID)
        let blobs = service.blobs
        // A deleted instance stored again: on a local disk its old file is removed first, so
        // that the new one is created under its name (one flush) rather than renamed over it
        // (two); nothing reads a deleted instance's file.
        let removingFirst = existing?.deletedAt != nil && blobs.writesAreBounded
        writes.append(BlobWrite(sop: index.sopUID) { whenReadable in
            if removingFirst { try? await blobs.delete(key) }
            try await blobs.put(key, bytes, whenReadable: whenReadable)
        })
        let json = DICOMJSON.encode(file.dataSet, bulkData: ImagingService.bulkDataLocator(study: index.studyUID, series: index.seriesUID, sop: index.sopUID))
        let metadata = try await service.seal(json, tenant: tenant, sop: index.sopUID)
        let computed = if let digest { digest } else { await digestOfBytes() }
        pending.append(PendingInstance(
            index: index, patient: patient, blobKey: key, size: bytes.count, digest: computed, metadata: metadata, replacing: replacing,
            heldFor: patient == nil ? target.holdsUnmatchedFor : nil))
        result.stored.append(StoredInstance(sopClass: index.sopClass, sopInstance: index.sopUID, study: index.studyUID, series: index.seriesUID))
        await settleWrites(keeping: Self.writesInFlight)
    }

    /// Waits for the oldest blob writes until at most `keeping` are under way; an instance whose
    /// blob could not be written is taken out of the batch and reported failed, and dropped
    /// from the index if its rows were `indexed` already. Returns how many failed.
    @discardableResult
    mutating func settleWrites(keeping: Int, indexed: Bool = false) async -> Int {
        var failed: [ImagingService.Unflushed] = []
        var flushed: [Int64] = []
        while writes.count > keeping {
            let write = writes.removeFirst()
            do {
                try await write.task.value
                flushed.append(write.token)
            } catch {
                service.logger.error("writing a DICOM instance's file failed", metadata: ["sop": "\(write.sop)", "error": "\(String(reflecting: error))"])
                guard let position = pending.firstIndex(where: { $0.index.sopUID == write.sop }) else { continue }
                let instance = pending.remove(at: position)
                failed.append(ImagingService.Unflushed(
                    sop: write.sop, study: instance.index.studyUID, series: instance.index.seriesUID, token: write.token,
                    agent: target.caller.agent.flatMap { try? ImagingService.owedAgent($0) }))
                result.stored.removeAll { $0.sopInstance == write.sop }
                result.failed.append(FailedInstance(
                    sopClass: instance.index.sopClass, sopInstance: instance.index.sopUID, reason: FailedInstance.processingFailure,
                    message: "The instance could not be stored."))
            }
        }
        if indexed {
            let tenant = target.caller.tenant
            service.flushed(flushed, tenant: tenant)
            if !failed.isEmpty { await service.dropUnflushed(failed, tenant: tenant) }
        }
        return failed.count
    }

    /// Refuses an instance the caller may not file: a patient they may not write for, or no
    /// patient at all (unmatched images are held only for modalities, and system clients).
    mutating func checkWrite(patient: String?, index: IndexedInstance) async throws {
        let caller = target.caller
        guard let patient else {
            guard caller.write.everything || target.holdsUnmatchedFor != nil else {
                throw FailedInstance(
                    sopClass: index.sopClass, sopInstance: index.sopUID, reason: FailedInstance.notAuthorized,
                    message: "No patient of Hygie has PatientID \"\(index.patientID)\": file the images under a patient you follow.")
            }
            return
        }
        if let known = writable[patient] {
            if !known { throw refusal(index) }
            return
        }
        let allowed = try await service.fhir.mayWrite(type: ImagingService.resourceType, patients: [patient], caller: caller)
        writable[patient] = allowed
        if !allowed { throw refusal(index) }
    }

    func refusal(_ index: IndexedInstance) -> FailedInstance {
        FailedInstance(
            sopClass: index.sopClass, sopInstance: index.sopUID, reason: FailedInstance.notAuthorized,
            message: "You may not add images to this patient's record.")
    }

    /// Indexes every accepted instance in one transaction; on failure removes their blobs and
    /// reports them failed.
    public mutating func commit() async -> StoreResult {
        defer { pending = [] }
        while !pending.isEmpty {
            do {
                try await service.index(pending, caller: target.caller, awaiting: writes)
                await settleWrites(keeping: 0, indexed: true)
                if !target.deferred {
                    await service.scheduleSync(Set(pending.map(\.index.studyUID)), tenant: target.caller.tenant)
                }
                return result
            } catch {
                // A blob that could not be written fails its instance alone: the others are
                // indexed without it.
                if await settleWrites(keeping: 0) > 0 { continue }
                await fail(error)
            }
        }
        await settleWrites(keeping: 0)
        return result
    }

    /// The index transaction failed: the blobs it would have indexed are removed and their
    /// instances reported failed.
    mutating func fail(_ error: any Error) async {
        service.logger.error("indexing DICOM instances failed", metadata: ["error": "\(String(reflecting: error))"])
        for instance in pending where !instance.replacing { try? await service.blobs.delete(instance.blobKey) }
        let failedUIDs = Set(pending.map(\.index.sopUID))
        result.stored.removeAll { failedUIDs.contains($0.sopInstance) }
        result.failed += pending.map {
            FailedInstance(sopClass: $0.index.sopClass, sopInstance: $0.index.sopUID, reason: FailedInstance.processingFailure,
                           message: "The instance could not be indexed; nothing was kept.")
        }
        pending = []
    }

    /// Stores one instance and commits it, keeping what the batch learnt (study rows, patient
    /// matches, write permissions) for the next: a DIMSE association's C-STOREs, one by one.
    public mutating func storeOne(_ bytes: [UInt8]) async -> StoreResult {
        result = StoreResult()
        await add(bytes)
        let outcome = await commit()
        result = StoreResult()
        return outcome
    }
}

extension FailedInstance: Error {}

extension ImagingService {
    public func startBatch(_ target: StoreTarget) -> StoreBatch { StoreBatch(service: self, target: target) }

    /// Stores a set of files in one batch.
    public func store(_ files: [[UInt8]], target: StoreTarget) async -> StoreResult {
        var batch = startBatch(target)
        for file in files { await batch.add(file) }
        return await batch.commit()
    }

    static func bulkDataLocator(study: String, series: String, sop: String) -> DICOMJSON.BulkDataLocator {
        { path, _ in
            guard path.count == 1 else { return nil }
            return "\(bulkBase)/studies/\(study)/series/\(series)/instances/\(sop)/bulkdata/\(path[0].hex)"
        }
    }

    /// Stored metadata names its bulk data relative to this placeholder, replaced by the
    /// DICOMweb base URL of the request that reads it.
    static let bulkBase = "hygie-bulk:"

    struct ExistingInstance {
        var digest: String
        var deletedAt: Int64?
    }

    func existingInstance(_ sop: String, tenant: TenantID) async throws -> ExistingInstance? {
        let row = try await database.read { database in
            try await database.raw(
                "SELECT digest, deleted_at FROM dicom_instances WHERE tenant_id = \(bind: tenant.rawValue) AND sop_uid = \(bind: sop)"
            ).first()
        }
        guard let row else { return nil }
        return ExistingInstance(digest: try row.decode(column: "digest", as: String.self), deletedAt: try row.decode(column: "deleted_at", as: Int64?.self))
    }

    struct StudyRow {
        var patient: String?
        var imagingStudy: String
    }

    func studyRow(_ study: String, tenant: TenantID) async throws -> StudyRow? {
        let row = try await database.read { database in
            try await database.raw(
                "SELECT patient_ref, imaging_study_id FROM dicom_studies WHERE tenant_id = \(bind: tenant.rawValue) AND study_uid = \(bind: study)"
            ).first()
        }
        guard let row else { return nil }
        return StudyRow(patient: try row.decode(column: "patient_ref", as: String?.self), imagingStudy: try row.decode(column: "imaging_study_id", as: String.self))
    }

    /// The Patient whose identifier value is `id` (and whose identifier system or assigner
    /// names `issuer`, when given); nil when none or several match.
    /// Hygie's own Patient id, which worklists built from Hygie carry as PatientID, matches too.
    func matchPatient(id: String, issuer: String, tenant: TenantID) async throws -> String? {
        if issuer.isEmpty, PrimitiveType.isValidID(id), let patient = try? await fhir.read("Patient", id, as: .system(tenant)), !patient.isDeleted {
            return patient.id
        }
        let found = try await fhir.searchAll("Patient", [("identifier", id)], tenant: tenant, limit: 3)
        let candidates = try found.filter { resource in
            guard !issuer.isEmpty else { return true }
            let identifiers = try resource.json()["identifier"]?.arrayValue ?? []
            return identifiers.contains { identifier in
                identifier["value"]?.stringValue == id
                    && (identifier["system"]?.stringValue?.contains(issuer) == true || identifier["assigner"]?["display"]?.stringValue == issuer)
            }
        }
        return candidates.count == 1 ? candidates[0].id : nil
    }
}
