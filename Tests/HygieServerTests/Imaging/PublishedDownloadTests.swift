import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Logging
import Storage
import Synchronization
import Testing

/// An object store in memory that publishes files the way an S3 bucket does (a URL per key),
/// and can be told to refuse publications.
final class MemoryObjectStore: BlobStore, BlobDownloads {
    let objects = Mutex<[String: [UInt8]]>([:])
    let refusing = Mutex(false)

    func put(_ key: String, _ bytes: [UInt8]) async throws { objects.withLock { $0[key] = bytes } }
    func get(_ key: String) async throws -> [UInt8] {
        guard let bytes = objects.withLock({ $0[key] }) else { throw BlobStoreError.notFound(key) }
        return bytes
    }
    func delete(_ key: String) async throws { _ = objects.withLock { $0.removeValue(forKey: key) } }
    func exists(_ key: String) async throws -> Bool { objects.withLock { $0[key] != nil } }

    func publish(_ key: String, _ bytes: [UInt8], contentType: String, filename: String, lifetime: Int) async throws -> String {
        if refusing.withLock({ $0 }) { throw S3Error.refused("PUT", key, 403, "AccessDenied") }
        try await put(key, bytes)
        return "https://objects.example/\(key)?expires=\(lifetime)"
    }

    func keys(under prefix: String) -> [String] { objects.withLock { $0.keys.filter { $0.hasPrefix(prefix) }.sorted() } }
}

/// Download links (issue 5, S3 store): what is published is the caller's images as stored,
/// recorded before it is written, and deleted once the link has expired.
@Suite struct PublishedDownloadTests {
    @Test func publishedFilesAreTheImagesAsStoredAndArePurgedOnceExpired() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let clock = SteppedClock(Date(timeIntervalSince1970: 1_790_000_000))
            let objects = MemoryObjectStore()
            var settings = ImagingConfiguration()
            settings.downloadLifetime = 300
            let imaging = ImagingService(
                fhir: platform.fhir, blobs: EncryptedBlobStore(inner: objects, keyRing: platform.keyRing, tenant: tenant), downloads: objects,
                keyRing: platform.keyRing, clock: clock, ids: UUIDv7Generator(clock: clock), configuration: settings, logger: Logger(label: "test"))
            let patient = try #require(try await platform.fhir.create(
                ["resourceType": "Patient", "name": [["family": "Lien"]]], type: "Patient", as: .system(tenant)).resource).id
            let study = "1.2.826.0.1.3680043.10.1452.98.1"
            let files = (1...2).map { ImagingStudySyncTests.instance(patient: patient, study: study, series: "\(study).1", number: $0) }
            #expect(await imaging.store(files, target: StoreTarget(caller: .system(tenant))).failed.isEmpty)

            let one = try await imaging.publishDownload(study: study, series: "\(study).1", sop: "\(study).1.2", caller: .system(tenant))
            #expect(one.filename == "\(study).1.2.dcm" && one.instances == 1)
            #expect(one.expiresAt == Int64(clock.now().timeIntervalSince1970 * 1000) + 300_000)
            let published = objects.keys(under: "downloads/")
            #expect(published.count == 1)
            #expect(try await objects.get(published[0]) == files[1], "the decrypted instance, byte for byte")

            let whole = try await imaging.publishDownload(study: study, caller: .system(tenant))
            #expect(whole.filename == "\(study).zip" && whole.instances == 2)
            #expect(objects.keys(under: "downloads/").count == 2)

            // A refused publication is still recorded, so whatever reached the store is purged.
            objects.refusing.withLock { $0 = true }
            await #expect(throws: S3Error.self) { try await imaging.publishDownload(study: study, caller: .system(tenant)) }
            objects.refusing.withLock { $0 = false }

            #expect(try await imaging.purgeExpiredDownloads() == 0)
            clock.advance(hours: 301.0 / 3600)
            #expect(try await imaging.purgeExpiredDownloads() == 3)
            #expect(objects.keys(under: "downloads/").isEmpty)
            #expect(objects.keys(under: "patients/\(patient)/").count == 2, "the archive itself is untouched")
            #expect(try await imaging.purgeExpiredDownloads() == 0)

            // Without an object store there is nothing to publish to.
            await #expect(throws: ServiceError.self) { try await platform.imaging.publishDownload(study: study, caller: .system(tenant)) }
            #expect(platform.imaging.publishesDownloads == false)
        }
    }
}
