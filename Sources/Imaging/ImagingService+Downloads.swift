import Core
import DICOM
import FHIRStore
import Foundation
import SQLKit
import Storage

/// A file put where the caller's browser fetches it directly, for a limited time.
public struct PublishedDownload: Sendable, Codable {
    public var url: String
    public var filename: String
    /// Milliseconds since 1970 after which the URL no longer works.
    public var expiresAt: Int64
    public var instances: Int
}

extension ImagingService {
    /// Whether this archive can publish downloads (an S3-compatible store is configured).
    public var publishesDownloads: Bool { downloads != nil }

    /// Publishes the instance (as application/dicom) or the series or study (a ZIP of its
    /// instances, as stored) for direct download from the object store through a presigned URL.
    /// The caller must be allowed to read the images; the publication is audited as an export.
    /// Every blob at rest is sealed by Hygie, so the published copy is a decrypted one, kept
    /// (with the store's own encryption) only until the URL expires, then deleted.
    public func publishDownload(study: String, series: String? = nil, sop: String? = nil, caller: Caller) async throws -> PublishedDownload {
        guard let downloads else {
            throw ServiceError(409, "not-available", "Download links need an S3-compatible object store; this archive keeps its files on disk.")
        }
        let located = try await locate(study: study, series: series, sop: sop, caller: caller)
        let filename: String
        let mediaType: String
        let bytes: [UInt8]
        if sop != nil {
            (filename, mediaType, bytes) = ("\(located[0].sop).dcm", "application/dicom", try await file(located[0]))
        } else {
            var zip = ZipWriter()
            var size = 0
            for location in located {
                let file = try await file(location)
                size += file.count
                guard size <= configuration.maximumDownloadSize else {
                    throw ServiceError(
                        413, "too-large", "These images exceed \(configuration.maximumDownloadSize >> 20) MB; download them one series at a time.")
                }
                zip.add(name: "\(location.series)/\(location.sop).dcm", contents: file)
            }
            (filename, mediaType, bytes) = ("\(series ?? study).zip", "application/zip", zip.finished())
        }
        let key = "downloads/\(ids.makeID())/\(filename)"
        let lifetime = configuration.downloadLifetime
        let expiresAt = now() + Int64(lifetime) * 1000
        // Recorded before the upload: whatever reaches the store is deleted when it expires,
        // even if this request fails half-way.
        try await database.transaction { database in
            try await database.raw(
                "INSERT INTO dicom_published_downloads (blob_key, tenant_id, expires_at) VALUES (\(bind: key), \(bind: caller.tenant.rawValue), \(bind: expiresAt))"
            ).run()
        }
        let url = try await downloads.publish(key, bytes, contentType: mediaType, filename: filename, lifetime: lifetime)
        if let agent = caller.agent {
            try await fhir.record(
                AuditRecord(agent: agent, kind: .dicom(.export), action: .read, entities: ["\(Self.resourceType)/\(study)"],
                            patients: located[0].patient.map { [$0] } ?? [], detail: "\(located.count) instance(s), download link for \(lifetime) s"),
                tenant: caller.tenant)
        }
        return PublishedDownload(url: url, filename: filename, expiresAt: expiresAt, instances: located.count)
    }

    /// Deletes the published downloads whose URLs have expired; returns how many.
    public func purgeExpiredDownloads() async throws -> Int {
        guard let downloads else { return 0 }
        let moment = now()
        let keys = try await database.read { database in
            try await database.raw("SELECT blob_key FROM dicom_published_downloads WHERE expires_at < \(bind: moment) ORDER BY expires_at LIMIT 500")
                .all().map { try $0.decode(column: "blob_key", as: String.self) }
        }
        for key in keys {
            try await downloads.delete(key)
            try await database.transaction { database in
                try await database.raw("DELETE FROM dicom_published_downloads WHERE blob_key = \(bind: key)").run()
            }
        }
        return keys.count
    }
}
