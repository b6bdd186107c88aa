import DICOM

/// The DIMSE-C command fields (PS3.7 §E.1, Table E.1-1).
public enum CommandField: UInt16, Sendable {
    case storeRequest = 0x0001, storeResponse = 0x8001
    case getRequest = 0x0010, getResponse = 0x8010
    case findRequest = 0x0020, findResponse = 0x8020
    case moveRequest = 0x0021, moveResponse = 0x8021
    case echoRequest = 0x0030, echoResponse = 0x8030
    case cancelRequest = 0x0FFF
}

/// Status codes Hygie sends and reads (PS3.7 Annex C, PS3.4 Annexes B and C).
public enum Status {
    public static let success: UInt16 = 0x0000
    public static let pending: UInt16 = 0xFF00
    public static let cancelled: UInt16 = 0xFE00
    /// Sub-operations complete, one or more failures (C-MOVE).
    public static let subOperationsFailed: UInt16 = 0xB000
    public static let unrecognisedOperation: UInt16 = 0x0211
    public static let sopClassNotSupported: UInt16 = 0x0122
    public static let identifierDoesNotMatch: UInt16 = 0xA900
    public static let unableToProcess: UInt16 = 0xC000
    /// C-MOVE: move destination unknown.
    public static let moveDestinationUnknown: UInt16 = 0xA801
    public static let outOfResourcesSubOperations: UInt16 = 0xA702
    /// Refused: out of resources (C-STORE, C-FIND).
    public static let outOfResources: UInt16 = 0xA700
    /// Refused: out of resources, unable to calculate the number of matches (C-MOVE, C-GET).
    public static let outOfResourcesMatches: UInt16 = 0xA701

    public static func isPending(_ status: UInt16) -> Bool { status == 0xFF00 || status == 0xFF01 }

    /// A status as the standard writes it (four hex digits).
    public static func hex(_ status: UInt16) -> String {
        let digits = String(status, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// A command set (PS3.7 §6.3, §E): group 0000 elements, always implicit VR little endian.
public struct Command: Sendable {
    public var elements = DataSet()

    public init(_ field: CommandField, messageID: UInt16? = nil, respondingTo: UInt16? = nil, hasDataSet: Bool) {
        set(Tag.commandField, field.rawValue)
        if let messageID { set(Tag.messageID, messageID) }
        if let respondingTo { set(Tag.messageIDBeingRespondedTo, respondingTo) }
        set(Tag.commandDataSetType, hasDataSet ? 0x0000 : 0x0101)
    }

    init(elements: DataSet) { self.elements = elements }

    public var field: CommandField? { number(Tag.commandField).flatMap(CommandField.init(rawValue:)) }
    public var messageID: UInt16 { number(Tag.messageID) ?? 0 }
    public var respondingTo: UInt16 { number(Tag.messageIDBeingRespondedTo) ?? 0 }
    public var hasDataSet: Bool { number(Tag.commandDataSetType) != 0x0101 }
    public var status: UInt16 { number(Tag.status) ?? 0 }

    public var affectedSOPClass: String? {
        get { elements.string(Tag.affectedSOPClassUID) }
        set { newValue.map { elements.set(Tag.affectedSOPClassUID, .UI, $0) } }
    }
    public var affectedSOPInstance: String? {
        get { elements.string(Tag.affectedSOPInstanceUID) }
        set { newValue.map { elements.set(Tag.affectedSOPInstanceUID, .UI, $0) } }
    }
    public var moveDestination: String? {
        get { elements.string(Tag.moveDestination) }
        set { newValue.map { elements.set(Tag.moveDestination, .AE, $0) } }
    }
    public var moveOriginatorAE: String? {
        get { elements.string(Tag.moveOriginatorApplicationEntityTitle) }
        set { newValue.map { elements.set(Tag.moveOriginatorApplicationEntityTitle, .AE, $0) } }
    }
    public var moveOriginatorMessageID: UInt16? { number(Tag.moveOriginatorMessageID) }
    public var errorComment: String? {
        get { elements.string(Tag.errorComment) }
        set { newValue.map { elements.set(Tag.errorComment, .LO, String($0.prefix(64))) } }
    }

    /// Completed, failed and warning sub-operation counts, and those remaining (C-MOVE).
    public var subOperations: SubOperations {
        get {
            SubOperations(
                remaining: number(Tag.numberOfRemainingSuboperations).map(Int.init), completed: Int(number(Tag.numberOfCompletedSuboperations) ?? 0),
                failed: Int(number(Tag.numberOfFailedSuboperations) ?? 0), warning: Int(number(Tag.numberOfWarningSuboperations) ?? 0))
        }
        set {
            if let remaining = newValue.remaining { set(Tag.numberOfRemainingSuboperations, UInt16(clamping: remaining)) }
            set(Tag.numberOfCompletedSuboperations, UInt16(clamping: newValue.completed))
            set(Tag.numberOfFailedSuboperations, UInt16(clamping: newValue.failed))
            set(Tag.numberOfWarningSuboperations, UInt16(clamping: newValue.warning))
        }
    }

    public mutating func set(_ tag: Tag, _ value: UInt16) { elements.set(tag, .US, integers: [Int(value)]) }

    public mutating func setStatus(_ status: UInt16) { set(Tag.status, status) }

    func number(_ tag: Tag) -> UInt16? {
        guard let bytes = elements[tag]?.bytes, bytes.count >= 2 else { return nil }
        return UInt16(bytes[0]) | UInt16(bytes[1]) << 8
    }

    /// The encoded command set, group length first (PS3.7 §E.1).
    func encoded() -> [UInt8] {
        var writer = DataSetWriter(explicitVR: false, reservingCapacity: 256)
        writer.write(elements)
        let length = UInt32(writer.bytes.count)
        return [0, 0, 0, 0, 4, 0, 0, 0, UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)]
            + writer.bytes
    }

    package static func decode(_ bytes: [UInt8]) throws -> Command {
        Command(elements: try DICOMFile.readDataSet(bytes, syntax: .implicitVRLittleEndian))
    }
}

public struct SubOperations: Sendable, Equatable {
    public var remaining: Int?
    public var completed = 0
    public var failed = 0
    public var warning = 0

    public init(remaining: Int? = nil, completed: Int = 0, failed: Int = 0, warning: Int = 0) {
        self.remaining = remaining
        self.completed = completed
        self.failed = failed
        self.warning = warning
    }
}

/// One DIMSE message: its command and, when the command says so, a data set encoded in the
/// presentation context's transfer syntax.
public struct Message: Sendable {
    public var contextID: UInt8
    public var command: Command
    public var dataSet: [UInt8]?
    /// The data set was longer than the association takes in one message: it was read and
    /// dropped (`dataSet` is nil), and the request is answered "out of resources".
    public var oversized: Bool

    public init(contextID: UInt8, command: Command, dataSet: [UInt8]? = nil, oversized: Bool = false) {
        self.contextID = contextID
        self.command = command
        self.dataSet = dataSet
        self.oversized = oversized
    }
}

public extension Tag {
    static let commandGroupLength = Tag(0x0000, 0x0000)
    static let affectedSOPClassUID = Tag(0x0000, 0x0002)
    static let requestedSOPClassUID = Tag(0x0000, 0x0003)
    static let commandField = Tag(0x0000, 0x0100)
    static let messageID = Tag(0x0000, 0x0110)
    static let messageIDBeingRespondedTo = Tag(0x0000, 0x0120)
    static let moveDestination = Tag(0x0000, 0x0600)
    static let priority = Tag(0x0000, 0x0700)
    static let commandDataSetType = Tag(0x0000, 0x0800)
    static let status = Tag(0x0000, 0x0900)
    static let errorComment = Tag(0x0000, 0x0902)
    static let affectedSOPInstanceUID = Tag(0x0000, 0x1000)
    static let numberOfRemainingSuboperations = Tag(0x0000, 0x1020)
    static let numberOfCompletedSuboperations = Tag(0x0000, 0x1021)
    static let numberOfFailedSuboperations = Tag(0x0000, 0x1022)
    static let numberOfWarningSuboperations = Tag(0x0000, 0x1023)
    static let moveOriginatorApplicationEntityTitle = Tag(0x0000, 0x1030)
    static let moveOriginatorMessageID = Tag(0x0000, 0x1031)
}

/// SOP classes of the services Hygie offers and uses (PS3.4).
public enum SOPClass {
    public static let verification = "1.2.840.10008.1.1"
    public static let patientRootFind = "1.2.840.10008.5.1.4.1.2.1.1"
    public static let patientRootMove = "1.2.840.10008.5.1.4.1.2.1.2"
    public static let studyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
    public static let studyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"

    /// The storage SOP classes (PS3.4 Annex B.5) share this root; Hygie stores any of them.
    public static func isStorage(_ uid: String) -> Bool {
        uid.hasPrefix("1.2.840.10008.5.1.4.1.1.")
    }
}
