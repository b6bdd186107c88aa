import DICOM
import Foundation

/// The attributes of one instance that the index keeps, read once from its data set.
struct IndexedInstance: Sendable {
    var studyUID: String
    var seriesUID: String
    var sopUID: String
    var sopClass: String
    var instanceNumber: Int?
    var transferSyntax: String
    var frames: Int
    var rows: Int?
    var columns: Int?
    var bitsAllocated: Int?
    // Patient and study.
    var patientID: String
    var issuer: String
    var patientName: String
    var birthDate: String
    var sex: String
    var studyDate: String
    var studyTime: String
    var accession: String
    var studyID: String
    var referring: String
    var studyDescription: String
    // Series.
    var modality: String
    var seriesNumber: Int?
    var seriesDescription: String
    var bodyPart: String
    var seriesDate: String
    var seriesTime: String
    var performedDate: String
    var performedTime: String

    init(_ file: DICOMFile) throws {
        let dataSet = file.dataSet
        func required(_ tag: Tag) throws -> String {
            guard let value = dataSet.string(tag), Self.isValidUID(value) else { throw DICOMError.missingAttribute(tag) }
            return value
        }
        studyUID = try required(.studyInstanceUID)
        seriesUID = try required(.seriesInstanceUID)
        sopUID = try required(.sopInstanceUID)
        sopClass = try required(.sopClassUID)
        instanceNumber = dataSet.integer(.instanceNumber)
        transferSyntax = file.transferSyntax.uid
        frames = max(1, dataSet.integer(.numberOfFrames) ?? 1)
        rows = dataSet.integer(.rows)
        columns = dataSet.integer(.columns)
        bitsAllocated = dataSet.integer(.bitsAllocated)
        patientID = dataSet.string(.patientID) ?? ""
        issuer = dataSet.string(.issuerOfPatientID) ?? ""
        patientName = dataSet.strings(.patientName).first ?? ""
        birthDate = dataSet.string(.patientBirthDate) ?? ""
        sex = dataSet.string(.patientSex) ?? ""
        studyDate = dataSet.string(.studyDate) ?? ""
        studyTime = dataSet.string(.studyTime) ?? ""
        accession = dataSet.string(.accessionNumber) ?? ""
        studyID = dataSet.string(.studyID) ?? ""
        referring = dataSet.strings(.referringPhysicianName).first ?? ""
        studyDescription = dataSet.string(.studyDescription) ?? ""
        modality = dataSet.string(.modality) ?? ""
        seriesNumber = dataSet.integer(.seriesNumber)
        seriesDescription = dataSet.string(.seriesDescription) ?? ""
        bodyPart = dataSet.string(.bodyPartExamined) ?? ""
        seriesDate = dataSet.string(.seriesDate) ?? ""
        seriesTime = dataSet.string(.seriesTime) ?? ""
        performedDate = dataSet.string(.performedProcedureStepStartDate) ?? ""
        performedTime = dataSet.string(.performedProcedureStepStartTime) ?? ""
    }

    /// UIDs are dotted digits, at most 64 characters (PS3.5 §9.1); they also name blob paths.
    static func isValidUID(_ value: String) -> Bool {
        !value.isEmpty && value.count <= 64 && value.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == 46 }
            && !value.hasPrefix(".") && !value.hasSuffix(".") && !value.contains("..")
    }
}

/// Person names as the index compares them: upper case without accents, so that "Müller",
/// "MULLER" and "muller" are one name (accent- and case-insensitive, issue 5).
enum NameKey {
    static func normalize(_ text: String) -> String {
        text.folding(options: [.diacriticInsensitive, .caseInsensitive], locale: nil).uppercased()
    }

    /// The name as words between spaces (" DOE JOHN "), for fuzzy word-prefix matching.
    static func words(_ name: String) -> String {
        let words = normalize(name).split { $0 == "^" || $0 == "=" || $0 == " " || $0 == "," }
        return words.isEmpty ? "" : " " + words.joined(separator: " ") + " "
    }
}
