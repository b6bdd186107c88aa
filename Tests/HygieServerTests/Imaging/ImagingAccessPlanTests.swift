import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import HygieServer
import Imaging
import Logging
import Testing

/// A search tests the caller's grant either per candidate study (small archives, narrowing
/// filters) or by listing the grant's patients once (large archives): both give the same
/// studies, those of the patients the physician actively follows.
@Suite struct ImagingAccessPlanTests {
    @Test func aPhysicianFindsTheSameStudiesWhicheverWayTheGrantIsTested() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let system = Caller.system(tenant)
            func create(_ json: JSON) async throws -> String {
                try #require(try await platform.fhir.create(json, type: json["resourceType"]?.stringValue ?? "", as: system).resource).id
            }
            let doctor = try await create(["resourceType": "Practitioner", "name": [["family": "Plan"]]])
            var patients: [String] = []
            for family in ["Suivi", "Ancien", "Autre"] { patients.append(try await create(["resourceType": "Patient", "name": [["family": .string(family)]]])) }
            // Followed: the first patient; the second's care team has ended; none for the third.
            for (patient, status) in [(patients[0], "active"), (patients[1], "inactive")] {
                _ = try await create([
                    "resourceType": "CareTeam", "status": .string(status), "subject": ["reference": .string("Patient/\(patient)")],
                    "participant": [["member": ["reference": .string("Practitioner/\(doctor)")]]],
                ])
            }
            let studies = patients.indices.map { "1.2.826.0.1.3680043.10.1452.98.\($0 + 1)" }
            for (patient, study) in zip(patients, studies) {
                let file = ImagingStudySyncTests.instance(patient: patient, study: study, series: "\(study).1", number: 1)
                #expect(await platform.imaging.store([file], target: StoreTarget(caller: system)).failed.isEmpty)
            }
            let physician = Caller(tenant: tenant, read: Grant(patients: .linkedTo(.ids([doctor]))), write: .nothing, agent: nil)
            for perRowBelow in [0, 1_000_000] {
                var settings = ImagingConfiguration()
                settings.perRowAccessBelow = perRowBelow
                let imaging = ImagingService(
                    fhir: platform.fhir, blobs: SlowBlobStore(delay: .zero) { _ in false }, keyRing: platform.keyRing, clock: SystemWallClock(),
                    ids: UUIDv7Generator(clock: SystemWallClock()), configuration: settings, logger: Logger(label: "test"))
                for (parameters, expected) in [([], [studies[0]]), ([("PatientID", patients[0])], [studies[0]]), ([("PatientID", patients[1])], [])] {
                    for level in [QueryLevel.study, .series, .instance] {
                        let found = try await imaging.search(QIDOQuery(level: level, parameters: parameters), caller: physician, retrieveBase: "")
                        #expect(found.map { $0.string(.studyInstanceUID) } == expected, "per row below \(perRowBelow), \(level), \(parameters)")
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrites, before the store closes
        }
    }
}
