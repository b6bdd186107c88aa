import Core
import FHIR
import FHIRStore
import Foundation
import HygieServer
import Logging
import SQLKit
import Storage
import Testing

@Suite struct EncryptionTests {
    @Test func bodiesAreSealedAtRestWithTheirKeyID() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let written = try await platform.fhir.create(
                ["resourceType": "Patient", "name": [["family": "Confidentielle", "given": ["Hélène"]]]], type: "Patient", as: .system(configuration.defaultTenant))
            let rows = try await platform.store.read { database in
                try await database.raw("SELECT key_id, body FROM fhir_versions").all()
            }
            #expect(rows.count == 1)
            let body = try rows[0].decode(column: "body", as: Data.self)
            let keyID = try rows[0].decode(column: "key_id", as: String.self)
            #expect(body.range(of: Data("Confidentielle".utf8)) == nil)
            #expect(body.range(of: Data("Patient".utf8)) == nil)
            let active = try await platform.keyRing.activeKey(for: configuration.defaultTenant)
            #expect(keyID == active.id)
            let read = try await platform.fhir.read("Patient", written.resource!.id, as: .system(configuration.defaultTenant))
            #expect(String(decoding: read.body, as: UTF8.self).contains("Confidentielle"))
        }
    }

    @Test func theMasterKeyFileIsPrivate() async throws {
        try await withPlatforms(count: 1) { _, configuration in
            let attributes = try FileManager.default.attributesOfItem(atPath: configuration.resolvedMasterKeyFile)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect((attributes[.size] as? NSNumber)?.intValue == 32)
        }
    }

    @Test func aDifferentMasterKeyIsRefused() async throws {
        try await withPlatforms(count: 1) { _, configuration in
            var other = configuration
            other.masterKeyFile = configuration.dataDirectory + "/other.key"
            do {
                let platform = try await Platform.open(other, environment: HygieEnvironment(), logger: Logger(label: "test"))
                await platform.store.close()
                Issue.record("opening with another master key should fail")
            } catch let error as KeyRingError {
                #expect(error.description.contains("master key does not match"))
            }
        }
    }

    @Test func aBodyCopiedOntoAnotherRowDoesNotOpen() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let first = try await platform.fhir.create(["resourceType": "Patient", "gender": "female"], type: "Patient", as: .system(tenant)).resource!
            let second = try await platform.fhir.create(["resourceType": "Patient", "gender": "male"], type: "Patient", as: .system(tenant)).resource!
            try await platform.store.transaction { database in
                try await database.raw(
                    """
                    UPDATE fhir_versions SET body = (SELECT body FROM fhir_versions WHERE id = \(bind: first.id))
                    WHERE id = \(bind: second.id)
                    """
                ).run()
            }
            await #expect(throws: (any Error).self) {
                _ = try await platform.fhir.read("Patient", second.id, as: .system(tenant))
            }
        }
    }

    // A guard against the deadlock this test was written for (a first write creating its key
    // inside its own transaction), not a duration: under the whole suite on PostgreSQL, two
    // cores shared by every test, one minute was once not enough.
    @Test(.timeLimit(.minutes(5)))
    func aNewTenantGetsItsOwnKeyOnItsFirstWrite() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let other = TenantID("clinique-du-parc")
            let created = try await platform.fhir.create(["resourceType": "Patient", "gender": "other"], type: "Patient", as: .system(other)).resource!
            #expect(try await platform.fhir.read("Patient", created.id, as: .system(other)).version == 1)
            let keys = try await platform.store.read { database in
                try await database.raw("SELECT tenant_id FROM data_keys WHERE retired_at IS NULL ORDER BY tenant_id").all().map { try $0.decode(column: "tenant_id", as: String.self) }
            }
            #expect(keys == [other.rawValue, configuration.defaultTenant.rawValue].sorted())
            await #expect(throws: FHIRError.self) { _ = try await platform.fhir.read("Patient", created.id, as: .system(configuration.defaultTenant)) }
        }
    }

    @Test func rotatedKeysKeepOldRowsReadable() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let before = try await platform.fhir.create(["resourceType": "Patient", "gender": "female"], type: "Patient", as: .system(tenant)).resource!
            let oldKey = try await platform.keyRing.activeKey(for: tenant).id
            let newKey = try await platform.keyRing.rotate(tenant: tenant).id
            #expect(oldKey != newKey)
            let after = try await platform.fhir.create(["resourceType": "Patient", "gender": "male"], type: "Patient", as: .system(tenant)).resource!
            let keys = try await platform.store.read { database in
                try await database.raw("SELECT id, key_id FROM fhir_versions ORDER BY vid").all().map { try $0.decode(column: "key_id", as: String.self) }
            }
            #expect(keys == [oldKey, newKey])
            #expect(try await platform.fhir.read("Patient", before.id, as: .system(tenant)).version == 1)
            #expect(try await platform.fhir.read("Patient", after.id, as: .system(tenant)).version == 1)
        }
    }
}
