import Core
import DICOM
import FHIR
import FHIRStore
import Foundation
import HygieServer
@testable import Imaging
import SQLKit
import Storage
import Testing

/// What QIDO answers from the index rather than from an instance's metadata.
@Suite struct QIDOIndexTests {
    /// OHIF asks for SeriesDate and SeriesTime in every series list: they are indexed, and a
    /// series indexed before they were still answers them from its instance.
    @Test func seriesDateAndTimeComeFromTheIndexOrFromTheInstanceForOlderSeries() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let study = "1.2.826.0.1.3680043.10.1452.99.1"
            let file = dicomInstance(study: study, patientID: "P-SERIES-DATE") { dataSet in
                dataSet.set(.modality, .CS, "MR")
                dataSet.set(Tag(0x0008, 0x0021), .DA, "20260314")
                dataSet.set(Tag(0x0008, 0x0031), .TM, "101500")
            }
            #expect(await platform.imaging.store([file], target: StoreTarget(caller: .system(tenant))).failed.isEmpty)
            func answer() async throws -> (String?, String?) {
                let query = try QIDOQuery(level: .series, study: study, parameters: [("includefield", "00080021,00080031")])
                let found = try await platform.imaging.search(query, caller: .system(tenant), retrieveBase: "")
                return (found.first?.string(Tag(0x0008, 0x0021)), found.first?.string(Tag(0x0008, 0x0031)))
            }
            let indexed = try await platform.fhir.database.read { database in
                try await database.raw("SELECT series_date FROM dicom_series WHERE series_uid = \(bind: "\(study).1")").first()?.decode(column: "series_date", as: String?.self)
            }
            #expect(indexed == "20260314")
            #expect(try await answer() == ("20260314", "101500"))
            try await platform.fhir.database.transaction { database in
                try await database.raw("UPDATE dicom_series SET series_date = NULL, series_time = NULL WHERE series_uid = \(bind: "\(study).1")").run()
            }
            #expect(try await answer() == ("20260314", "101500"))
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrite, before the store closes
        }
    }

    /// A PatientName with a wildcard after some letters matches as before (accents and case
    /// folded, `?` for one character) and, on SQLite, is looked up through the name index
    /// rather than by testing every study.
    @Test func aPatientNamePrefixIsLookedUpInTheNameIndex() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let names = ["DUPONT^JEAN", "Dupond^Marie", "DUPONTEL^ANNE", "DURAND^PAUL", "Élodie^Zoé", "DUPONU^LUC"]
            let files = names.enumerated().map { number, name in
                dicomInstance(study: "1.2.826.0.1.3680043.10.1452.97.\(number + 1)", patientID: "P-NAME-\(number)") { dataSet in
                    dataSet.set(.patientName, .PN, name)
                    dataSet.set(.specificCharacterSet, .CS, "ISO_IR 192")
                }
            }
            #expect(await platform.imaging.store(files, target: StoreTarget(caller: .system(tenant))).failed.isEmpty)
            func found(matching pattern: String) async throws -> Set<String> {
                let query = try QIDOQuery(level: .study, parameters: [("PatientName", pattern)])
                return Set(try await platform.imaging.search(query, caller: .system(tenant), retrieveBase: "").compactMap { $0.string(.patientName) })
            }
            #expect(try await found(matching: "dup*") == ["DUPONT^JEAN", "Dupond^Marie", "DUPONTEL^ANNE", "DUPONU^LUC"])
            #expect(try await found(matching: "DUPONT*") == ["DUPONT^JEAN", "DUPONTEL^ANNE"])
            #expect(try await found(matching: "DUPON?^*") == ["DUPONT^JEAN", "Dupond^Marie", "DUPONU^LUC"])
            #expect(try await found(matching: "elo*") == ["Élodie^Zoé"])
            #expect(try await found(matching: "*PON*") == ["DUPONT^JEAN", "Dupond^Marie", "DUPONTEL^ANNE", "DUPONU^LUC"])
            #expect(try await found(matching: "DUPONT^JEAN*") == ["DUPONT^JEAN"])
            #expect(QIDOQuery.prefixRange("DUPONT*") ?? ("", "") == ("DUPONT", "DUPONU"))
            #expect(QIDOQuery.prefixRange("*PON*") == nil)
            #expect(QIDOQuery.prefixRange("A\u{10FFFF}*") ?? ("", "") == ("A\u{10FFFF}", "B"))
            if !TestDatabase.isPostgres {
                let query = try QIDOQuery(level: .study, parameters: [("PatientName", "DUPONT*")])
                let statement = try platform.imaging.statement(query, caller: .system(tenant), perRow: true)
                let plan = try await platform.fhir.database.read { database in
                    try await database.raw("EXPLAIN QUERY PLAN " + statement).all().map { try $0.decode(column: "detail", as: String.self) }
                }
                #expect(plan.contains { $0.contains("dicom_studies_name") }, "\(plan)")
            }
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrites, before the store closes
        }
    }
    /// JSON has no NaN: an instance whose float attribute holds one (private tags of some
    /// modalities do) keeps answering searches that read its metadata, NaN read back as NaN.
    @Test func aFloatThatIsNotANumberDoesNotBreakSearchesThatReadTheMetadata() async throws {
        try await withPlatforms(count: 1) { platforms, configuration in
            let platform = platforms[0]
            let tenant = configuration.defaultTenant
            let study = "1.2.826.0.1.3680043.10.1452.99.2"
            let vendorFloat = Tag(0x0045, 0x1002)
            let file = dicomInstance(study: study, patientID: "P-NAN") { dataSet in
                dataSet.set(.modality, .CS, "CT")
                var bytes: [UInt8] = []
                for value in [Float(1.5), .nan] { bytes += withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
                dataSet[vendorFloat] = DataElement(tag: vendorFloat, vr: .FL, value: .bytes(bytes))
            }
            #expect(await platform.imaging.store([file], target: StoreTarget(caller: .system(tenant))).failed.isEmpty)
            let query = try QIDOQuery(level: .instance, study: study, parameters: [("includefield", "all")])
            let found = try await platform.imaging.search(query, caller: .system(tenant), retrieveBase: "")
            #expect(found.count == 1)
            guard case .bytes(let bytes)? = found.first?[vendorFloat]?.value, bytes.count == 8 else {
                Issue.record("the float attribute is missing from the answer")
                return
            }
            let values = [0, 4].map { Float(bitPattern: UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24) }
            #expect(values[0] == 1.5)
            #expect(values[1].isNaN)
            try await Task.sleep(for: .milliseconds(300))  // the scheduled ImagingStudy rewrite, before the store closes
        }
    }
}
