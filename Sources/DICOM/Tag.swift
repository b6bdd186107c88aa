/// A data element tag (group, element), DICOM PS3.5 §7.1. Ordered as the standard orders
/// elements in a data set: by group, then element.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    public init(_ value: UInt32) {
        self.init(UInt16(value >> 16), UInt16(value & 0xFFFF))
    }

    /// Parses "0020000D", "(0020,000D)" or "0020,000D".
    public init?(hex: some StringProtocol) {
        let digits = String(hex.filter { $0.isHexDigit })
        guard digits.count == 8, hex.count <= 11, let value = UInt32(digits, radix: 16) else { return nil }
        self.init(value)
    }

    public var value: UInt32 { UInt32(group) << 16 | UInt32(element) }
    public var isPrivate: Bool { group & 1 == 1 }
    public var isGroupLength: Bool { element == 0 }
    /// Eight upper-case hex digits, the form DICOM JSON uses as keys (PS3.18 §F.2.1).
    public var hex: String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
    public var description: String { "(\(hex.prefix(4)),\(hex.suffix(4)))" }
    public static func < (lhs: Tag, rhs: Tag) -> Bool { lhs.value < rhs.value }

    // Delimiters, PS3.5 §7.5.
    public static let item = Tag(0xFFFE, 0xE000)
    public static let itemDelimitation = Tag(0xFFFE, 0xE00D)
    public static let sequenceDelimitation = Tag(0xFFFE, 0xE0DD)
}

/// Tags that Hygie's code names directly.
public extension Tag {
    static let fileMetaInformationGroupLength = Tag(0x0002, 0x0000)
    static let fileMetaInformationVersion = Tag(0x0002, 0x0001)
    static let mediaStorageSOPClassUID = Tag(0x0002, 0x0002)
    static let mediaStorageSOPInstanceUID = Tag(0x0002, 0x0003)
    static let transferSyntaxUID = Tag(0x0002, 0x0010)
    static let implementationClassUID = Tag(0x0002, 0x0012)
    static let implementationVersionName = Tag(0x0002, 0x0013)
    static let sourceApplicationEntityTitle = Tag(0x0002, 0x0016)

    static let specificCharacterSet = Tag(0x0008, 0x0005)
    static let imageType = Tag(0x0008, 0x0008)
    static let instanceCreationDate = Tag(0x0008, 0x0012)
    static let sopClassUID = Tag(0x0008, 0x0016)
    static let sopInstanceUID = Tag(0x0008, 0x0018)
    static let studyDate = Tag(0x0008, 0x0020)
    static let seriesDate = Tag(0x0008, 0x0021)
    static let contentDate = Tag(0x0008, 0x0023)
    static let studyTime = Tag(0x0008, 0x0030)
    static let seriesTime = Tag(0x0008, 0x0031)
    static let contentTime = Tag(0x0008, 0x0033)
    static let accessionNumber = Tag(0x0008, 0x0050)
    static let queryRetrieveLevel = Tag(0x0008, 0x0052)
    static let retrieveAETitle = Tag(0x0008, 0x0054)
    static let instanceAvailability = Tag(0x0008, 0x0056)
    static let modality = Tag(0x0008, 0x0060)
    static let modalitiesInStudy = Tag(0x0008, 0x0061)
    static let sopClassesInStudy = Tag(0x0008, 0x0062)
    static let conversionType = Tag(0x0008, 0x0064)
    static let institutionName = Tag(0x0008, 0x0080)
    static let referringPhysicianName = Tag(0x0008, 0x0090)
    static let timezoneOffsetFromUTC = Tag(0x0008, 0x0201)
    static let stationName = Tag(0x0008, 0x1010)
    static let studyDescription = Tag(0x0008, 0x1030)
    static let seriesDescription = Tag(0x0008, 0x103E)
    static let performingPhysicianName = Tag(0x0008, 0x1050)
    static let referencedSOPSequence = Tag(0x0008, 0x1199)
    static let referencedSOPClassUID = Tag(0x0008, 0x1150)
    static let referencedSOPInstanceUID = Tag(0x0008, 0x1155)
    static let failedSOPSequence = Tag(0x0008, 0x1198)
    static let failureReason = Tag(0x0008, 0x1197)
    static let warningReason = Tag(0x0008, 0x1196)
    static let retrieveURL = Tag(0x0008, 0x1190)
    static let otherPatientIDsSequence = Tag(0x0010, 0x1002)

    static let patientName = Tag(0x0010, 0x0010)
    static let patientID = Tag(0x0010, 0x0020)
    static let issuerOfPatientID = Tag(0x0010, 0x0021)
    static let patientBirthDate = Tag(0x0010, 0x0030)
    static let patientSex = Tag(0x0010, 0x0040)
    static let patientAge = Tag(0x0010, 0x1010)
    static let otherPatientIDs = Tag(0x0010, 0x1000)
    static let patientAddress = Tag(0x0010, 0x1040)

    static let bodyPartExamined = Tag(0x0018, 0x0015)
    static let sliceThickness = Tag(0x0018, 0x0050)
    static let deviceSerialNumber = Tag(0x0018, 0x1000)

    static let studyInstanceUID = Tag(0x0020, 0x000D)
    static let seriesInstanceUID = Tag(0x0020, 0x000E)
    static let studyID = Tag(0x0020, 0x0010)
    static let seriesNumber = Tag(0x0020, 0x0011)
    static let instanceNumber = Tag(0x0020, 0x0013)
    static let frameOfReferenceUID = Tag(0x0020, 0x0052)
    static let numberOfPatientRelatedStudies = Tag(0x0020, 0x1200)
    static let numberOfStudyRelatedSeries = Tag(0x0020, 0x1206)
    static let numberOfStudyRelatedInstances = Tag(0x0020, 0x1208)
    static let numberOfSeriesRelatedInstances = Tag(0x0020, 0x1209)
    static let performedProcedureStepStartDate = Tag(0x0040, 0x0244)
    static let performedProcedureStepStartTime = Tag(0x0040, 0x0245)
    static let requestAttributesSequence = Tag(0x0040, 0x0275)
    static let scheduledProcedureStepID = Tag(0x0040, 0x0009)
    static let requestedProcedureID = Tag(0x0040, 0x1001)

    static let samplesPerPixel = Tag(0x0028, 0x0002)
    static let photometricInterpretation = Tag(0x0028, 0x0004)
    static let planarConfiguration = Tag(0x0028, 0x0006)
    static let numberOfFrames = Tag(0x0028, 0x0008)
    static let rows = Tag(0x0028, 0x0010)
    static let columns = Tag(0x0028, 0x0011)
    static let bitsAllocated = Tag(0x0028, 0x0100)
    static let bitsStored = Tag(0x0028, 0x0101)
    static let highBit = Tag(0x0028, 0x0102)
    static let pixelRepresentation = Tag(0x0028, 0x0103)
    static let windowCenter = Tag(0x0028, 0x1050)
    static let windowWidth = Tag(0x0028, 0x1051)
    static let rescaleIntercept = Tag(0x0028, 0x1052)
    static let rescaleSlope = Tag(0x0028, 0x1053)
    static let voiLUTSequence = Tag(0x0028, 0x3010)
    static let lutDescriptor = Tag(0x0028, 0x3002)
    static let lutData = Tag(0x0028, 0x3006)
    static let redPaletteLUTDescriptor = Tag(0x0028, 0x1101)
    static let redPaletteLUTData = Tag(0x0028, 0x1201)
    static let greenPaletteLUTData = Tag(0x0028, 0x1202)
    static let bluePaletteLUTData = Tag(0x0028, 0x1203)
    static let pixelData = Tag(0x7FE0, 0x0010)
    static let floatPixelData = Tag(0x7FE0, 0x0008)
    static let doubleFloatPixelData = Tag(0x7FE0, 0x0009)
}
