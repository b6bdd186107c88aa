import Core
import FHIR
import FHIRStore
import Foundation
import HygieServer
import SQLKit
import Storage
import Testing

@Suite struct ConcurrencyTests {
    static func patient(_ id: String, family: String) -> JSON {
        ["resourceType": "Patient", "id": .string(id), "name": [["family": .string(family)]]]
    }

    @Test func exactlyOneOfConcurrentIfMatchWritersWinsAcrossTwoServers() async throws {
        try await withPlatforms(count: 2) { platforms, configuration in
            let tenant = configuration.defaultTenant
            _ = try await platforms[0].fhir.update(Self.patient("race", family: "v1"), type: "Patient", id: "race", as: .system(tenant))
            let results = await withTaskGroup(of: Int.self) { group in
                for writer in 0..<12 {
                    group.addTask {
                        do {
                            _ = try await platforms[writer % 2].fhir.update(Self.patient("race", family: "w\(writer)"), type: "Patient", id: "race", ifMatch: 1, as: .system(tenant))
                            return 200
                        } catch let error as FHIRError {
                            return error.status
                        } catch {
                            return 500
                        }
                    }
                }
                return await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == 200 }.count == 1)
            #expect(results.filter { $0 == 412 }.count == 11)
            #expect(try await platforms[1].fhir.read("Patient", "race", as: .system(tenant)).version == 2)
        }
    }

    @Test func concurrentUpdatesNeverSkipOrRepeatVersions() async throws {
        try await withPlatforms(count: 2) { platforms, configuration in
            let tenant = configuration.defaultTenant
            _ = try await platforms[0].fhir.update(Self.patient("busy", family: "v1"), type: "Patient", id: "busy", as: .system(tenant))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<20 {
                    group.addTask {
                        _ = try await platforms[writer % 2].fhir.update(Self.patient("busy", family: "w\(writer)"), type: "Patient", id: "busy", as: .system(tenant))
                    }
                }
                try await group.waitForAll()
            }
            let history = try await platforms[0].fhir.history(.instance(type: "Patient", id: "busy"), since: nil, count: 100, cursor: nil, as: .system(tenant))
            #expect(history.entries.map(\.resource.version) == Array((1...21).reversed()))
            #expect(try await platforms[1].fhir.read("Patient", "busy", as: .system(tenant)).version == 21)
        }
    }

    @Test func concurrentCreatesWithTheSameClientIdMakeOneResource() async throws {
        try await withPlatforms(count: 2) { platforms, configuration in
            let tenant = configuration.defaultTenant
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        try await platforms[writer % 2].fhir.update(Self.patient("same", family: "c\(writer)"), type: "Patient", id: "same", as: .system(tenant)).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1)
            #expect(statuses.filter { $0 == 200 }.count == 7)
            #expect(try await platforms[0].fhir.read("Patient", "same", as: .system(tenant)).version == 8)
        }
    }

    @Test func concurrentPlainCreatesAreEachWrittenOnce() async throws {
        try await withPlatforms(count: 2) { platforms, configuration in
            let tenant = configuration.defaultTenant
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for writer in 0..<120 {
                    group.addTask {
                        let patient: JSON = ["resourceType": "Patient", "name": [["family": .string("Batch\(writer)")]]]
                        return try await platforms[writer % 2].fhir.create(patient, type: "Patient", as: .system(tenant)).resource!.id
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 120)
            let query = try SearchQuery.parse(resourceType: "Patient", parameters: [("name", "batch"), ("_count", "1")])
            #expect(try await platforms[1].fhir.search(query, as: .system(tenant)).total == 120)
            let history = try await platforms[0].fhir.history(.type("Patient"), since: nil, count: 1, cursor: nil, as: .system(tenant))
            #expect(history.total == 120)
        }
    }

    @Test func concurrentConditionalCreatesMakeOneResource() async throws {
        try await withPlatforms(count: 2) { platforms, configuration in
            let tenant = configuration.defaultTenant
            let patient: JSON = ["resourceType": "Patient", "identifier": [["system": "urn:ins", "value": "77"]]]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        _ = try await platforms[writer % 2].fhir.create(patient, type: "Patient", ifNoneExist: [("identifier", "urn:ins|77")], as: .system(tenant))
                    }
                }
                try await group.waitForAll()
            }
            let query = try SearchQuery.parse(resourceType: "Patient", parameters: [("identifier", "urn:ins|77")])
            #expect(try await platforms[0].fhir.search(query, as: .system(tenant)).total == 1)
        }
    }
}
