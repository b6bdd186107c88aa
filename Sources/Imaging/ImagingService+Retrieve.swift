import Core
import DICOM
import FHIRStore
import Foundation
import SQLKit
import Storage

/// One stored instance a caller may retrieve.
public struct InstanceLocation: Sendable {
    public var study: String
    public var series: String
    public var sop: String
    public var sopClass: String
    public var transferSyntax: String
    public var blobKey: String
    public var frames: Int
    public var patient: String?

    /// From a row selecting `locationColumns`.
    init(row: any SQLRow) throws {
        study = try row.decode(column: "study_uid", as: String.self)
        series = try row.decode(column: "series_uid", as: String.self)
        sop = try row.decode(column: "sop_uid", as: String.self)
        sopClass = try row.decode(column: "sop_class", as: String.self)
        transferSyntax = try row.decode(column: "transfer_syntax", as: String.self)
        blobKey = try row.decode(column: "blob_key", as: String.self)
        frames = try row.decode(column: "frames", as: Int.self)
        patient = try row.decode(column: "patient_ref", as: String?.self)
    }

    /// The columns a location is read from (instance `i`, study `s`).
    static let columns = "i.study_uid, i.series_uid, i.sop_uid, i.sop_class, i.transfer_syntax, i.blob_key, i.frames, s.patient_ref"
}

extension ImagingService {
    /// The instances of a study, series or instance that the caller may see, in series and
    /// instance order; 404 when there are none (whether absent or not theirs: not disclosed).
    public func locate(study: String, series: String? = nil, sop: String? = nil, caller: Caller) async throws -> [InstanceLocation] {
        var sql: SQLQueryString = """
            SELECT \(unsafeRaw: InstanceLocation.columns)
            FROM dicom_instances i JOIN dicom_studies s ON s.tenant_id = i.tenant_id AND s.study_uid = i.study_uid
            WHERE i.deleted_at IS NULL AND i.study_uid = \(bind: study) AND
            """
        sql += " " + visible(caller, oneStudy: true)
        if let series { sql += " AND i.series_uid = \(bind: series)" }
        if let sop { sql += " AND i.sop_uid = \(bind: sop)" }
        sql += " ORDER BY i.series_uid, i.instance_number, i.sop_uid"
        let finalSQL = sql
        let rows = try await database.read { database in try await database.raw(finalSQL).all() }
        guard !rows.isEmpty else {
            throw ServiceError.notFound(sop.map { "Instance \($0)" } ?? series.map { "Series \($0)" } ?? "Study \(study)")
        }
        let locations = try rows.map(InstanceLocation.init(row:))
        try await auditAccess(study: study, patient: locations[0].patient, caller: caller)
        return locations
    }

    /// Records "DICOM Instances Accessed" once per account, study and window.
    func auditAccess(study: String, patient: String?, caller: Caller) async throws {
        guard let agent = caller.agent, accessAudit.shouldRecord(account: agent.account, study: study, action: "read") else { return }
        try await fhir.record(
            AuditRecord(agent: agent, kind: .dicom(.instancesAccessed), action: .read, entities: ["\(Self.resourceType)/\(study)"],
                        patients: patient.map { [$0] } ?? []),
            tenant: caller.tenant)
    }

    /// The Part 10 bytes of an instance, as stored.
    public func file(_ location: InstanceLocation) async throws -> [UInt8] {
        try await blobs.get(location.blobKey)
    }

    /// Gives `body` each located instance's file in turn, the next one being read and
    /// decrypted while `body` sends the current one (a series retrieve, a C-MOVE): sending and
    /// reading take turns on one core otherwise. Holds at most two files.
    public func eachFile(
        _ locations: [InstanceLocation], _ body: (InstanceLocation, Result<[UInt8], any Error>) async throws -> Void
    ) async throws {
        var next = locations.first.map { first in Task { try await file(first) } }
        defer { next?.cancel() }
        for (position, location) in locations.enumerated() {
            let reading = next!
            next = position + 1 < locations.count ? Task { [following = locations[position + 1]] in try await file(following) } : nil
            let result: Result<[UInt8], any Error>
            do { result = .success(try await reading.value) } catch { result = .failure(error) }
            try await body(location, result)
        }
    }

    /// The instance, read from its blob and parsed.
    public func parsed(_ location: InstanceLocation) async throws -> DICOMFile {
        try DICOMFile.read(try await file(location))
    }

    /// Frames of a located instance (numbered from 1), as stored (`asStored`: encapsulated
    /// fragments) or decoded to native little-endian pixels. Frames are cached with series
    /// metadata and renders (a viewer scrolling or playing a series back and forth asks for the
    /// same ones again); the file is read and parsed only when one is missing.
    public func frames(_ location: InstanceLocation, numbers: [Int], asStored: Bool, tenant: TenantID) async throws -> [[UInt8]] {
        let syntax = TransferSyntax(uid: location.transferSyntax)
        let encoding = asStored ? "stored" : "native"
        var parsedDataSet: DataSet?
        var frames: [[UInt8]] = []
        frames.reserveCapacity(numbers.count)
        for number in numbers {
            let key = StudyCacheKey(tenant: tenant, study: location.study, location.series, location.sop, "frame", encoding, String(number))
            if let cached = cache.get(key) {
                frames.append(cached)
                continue
            }
            let dataSet = if let parsedDataSet { parsedDataSet } else { try await parsed(location).dataSet }
            parsedDataSet = dataSet
            let frame = asStored
                ? try PixelData.storedFrame(dataSet, syntax: syntax, index: number - 1)
                : try PixelData.nativeFrame(dataSet, syntax: syntax, index: number - 1)
            cache.set(key, frame)
            frames.append(frame)
        }
        return frames
    }

    /// The DICOM JSON metadata of the located instances (PS3.18 §10.4.1.1.2), as one array,
    /// with bulk data URIs under `base`. Series are cached whole.
    public func metadata(_ locations: [InstanceLocation], tenant: TenantID, base: String) async throws -> [UInt8] {
        var output: [UInt8] = [UInt8(ascii: "[")]
        var first = true
        for (series, members) in Dictionary(grouping: locations, by: \.series).sorted(by: { $0.key < $1.key }) {
            let key = StudyCacheKey(tenant: tenant, study: members[0].study, series, "metadata")
            var objects: [UInt8]
            let wholeSeries = try await seriesInstanceCount(series, tenant: tenant) == members.count
            if wholeSeries, let cached = cache.get(key) {
                objects = cached
            } else {
                objects = try await metadataObjects(members.map(\.sop), tenant: tenant)
                if wholeSeries { cache.set(key, objects) }
            }
            guard !objects.isEmpty else { continue }
            if !first { output.append(UInt8(ascii: ",")) }
            first = false
            output += objects
        }
        output.append(UInt8(ascii: "]"))
        return Self.replacing(Array(Self.bulkBase.utf8), with: Array(base.utf8), in: output)
    }

    func seriesInstanceCount(_ series: String, tenant: TenantID) async throws -> Int {
        try await database.read { database in
            try await database.raw(
                "SELECT instance_count FROM dicom_series WHERE tenant_id = \(bind: tenant.rawValue) AND series_uid = \(bind: series)"
            ).first()?.decode(column: "instance_count", as: Int.self) ?? 0
        }
    }

    /// The sealed metadata of these instances, opened and joined with commas.
    func metadataObjects(_ sops: [String], tenant: TenantID) async throws -> [UInt8] {
        var output: [UInt8] = []
        for chunk in sops.chunks(of: 500) {
            let rows = try await database.read { database in
                try await database.raw(
                    """
                    SELECT sop_uid, metadata FROM dicom_instances WHERE tenant_id = \(bind: tenant.rawValue) AND sop_uid IN (\(binds: chunk))
                    ORDER BY instance_number, sop_uid
                    """
                ).all()
            }
            for row in rows {
                let sop = try row.decode(column: "sop_uid", as: String.self)
                let json = try await open([UInt8](try row.decode(column: "metadata", as: Data.self)), tenant: tenant, sop: sop)
                if !output.isEmpty { output.append(UInt8(ascii: ",")) }
                output += json
            }
        }
        return output
    }

    static func replacing(_ needle: [UInt8], with replacement: [UInt8], in haystack: [UInt8]) -> [UInt8] {
        guard let first = needle.first else { return haystack }
        var output: [UInt8] = []
        output.reserveCapacity(haystack.count + haystack.count / 8)
        var index = 0
        let end = haystack.count - needle.count
        while index < haystack.count {
            if index <= end, haystack[index] == first, Array(haystack[index..<(index + needle.count)]) == needle {
                output += replacement
                index += needle.count
            } else {
                output.append(haystack[index])
                index += 1
            }
        }
        return output
    }

    /// A rendered frame as PNG or JPEG (cached per window, viewport and format, with the
    /// thumbnails).
    public func rendered(
        _ location: InstanceLocation, frame: Int, options: Renderer.Options, format: RenderedFormat = .png, tenant: TenantID
    ) async throws -> [UInt8] {
        let window = options.window.map { "\($0.center),\($0.width)" } ?? "-"
        let viewport = options.viewport.map { "\($0.width)x\($0.height)" } ?? "-"
        let key = StudyCacheKey(tenant: tenant, study: location.study, location.series, location.sop, "render", String(frame), window, viewport, "\(format)")
        if let cached = cache.get(key) { return cached }
        let file = try await parsed(location)
        let image = try Renderer.render(file.dataSet, syntax: file.transferSyntax, frame: frame, options: options)
        let encoded = try format.encode(image)
        cache.set(key, encoded)
        return encoded
    }
}
