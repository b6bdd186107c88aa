import NIOCore

/// A presentation context as the requester proposes it (PS3.8 §9.3.2.2).
public struct ProposedContext: Sendable, Equatable {
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntaxes: [String]

    public init(id: UInt8, abstractSyntax: String, transferSyntaxes: [String]) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }
}

/// The acceptor's answer for one presentation context (PS3.8 §9.3.3.2).
public struct ContextResult: Sendable, Equatable {
    public var id: UInt8
    public var result: Result
    /// The transfer syntax chosen (meaningful when accepted).
    public var transferSyntax: String

    public enum Result: UInt8, Sendable {
        case acceptance = 0
        case userRejection = 1
        case noReason = 2
        case abstractSyntaxNotSupported = 3
        case transferSyntaxesNotSupported = 4
    }

    public init(id: UInt8, result: Result, transferSyntax: String) {
        self.id = id
        self.result = result
        self.transferSyntax = transferSyntax
    }
}

/// The user information item (PS3.7 Annex D.3.3, PS3.8 §9.3.2.3).
public struct UserInformation: Sendable, Equatable {
    /// Largest P-DATA-TF variable field the sender can receive; 0 means no limit.
    public var maximumLength: UInt32
    public var implementationClassUID: String
    public var implementationVersionName: String?

    public init(maximumLength: UInt32, implementationClassUID: String, implementationVersionName: String?) {
        self.maximumLength = maximumLength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
    }
}

/// A-ASSOCIATE-RQ (PS3.8 §9.3.2).
public struct AssociateRequest: Sendable, Equatable {
    public var calledAE: String
    public var callingAE: String
    public var applicationContext: String = DIMSE.applicationContext
    public var contexts: [ProposedContext]
    public var userInformation: UserInformation

    public init(calledAE: String, callingAE: String, contexts: [ProposedContext], userInformation: UserInformation) {
        self.calledAE = calledAE
        self.callingAE = callingAE
        self.contexts = contexts
        self.userInformation = userInformation
    }
}

/// A-ASSOCIATE-AC (PS3.8 §9.3.3).
public struct AssociateAccept: Sendable, Equatable {
    public var calledAE: String
    public var callingAE: String
    public var applicationContext: String = DIMSE.applicationContext
    public var contexts: [ContextResult]
    public var userInformation: UserInformation

    public init(calledAE: String, callingAE: String, contexts: [ContextResult], userInformation: UserInformation) {
        self.calledAE = calledAE
        self.callingAE = callingAE
        self.contexts = contexts
        self.userInformation = userInformation
    }
}

/// A-ASSOCIATE-RJ (PS3.8 §9.3.4): result, source and reason codes as the standard numbers them.
public struct AssociateReject: Sendable, Equatable, Error {
    /// 1 rejected-permanent, 2 rejected-transient.
    public var result: UInt8
    /// 1 service-user, 2 service-provider (ACSE), 3 service-provider (presentation).
    public var source: UInt8
    public var reason: UInt8

    public init(result: UInt8, source: UInt8, reason: UInt8) {
        self.result = result
        self.source = source
        self.reason = reason
    }

    public static let callingAETitleNotRecognized = AssociateReject(result: 1, source: 1, reason: 3)
    public static let calledAETitleNotRecognized = AssociateReject(result: 1, source: 1, reason: 7)
    public static let applicationContextNotSupported = AssociateReject(result: 1, source: 1, reason: 2)
    public static let protocolVersionNotSupported = AssociateReject(result: 1, source: 2, reason: 2)
}

/// One presentation data value item of a P-DATA-TF (PS3.8 §9.3.5.1, Annex E.2).
public struct PresentationDataValue: Sendable, Equatable {
    public var contextID: UInt8
    public var isCommand: Bool
    public var isLast: Bool
    public var data: ByteBuffer

    public init(contextID: UInt8, isCommand: Bool, isLast: Bool, data: ByteBuffer) {
        self.contextID = contextID
        self.isCommand = isCommand
        self.isLast = isLast
        self.data = data
    }
}

/// The protocol data units of the DICOM upper layer (PS3.8 §9.3).
public enum PDU: Sendable, Equatable {
    case associateRequest(AssociateRequest)
    case associateAccept(AssociateAccept)
    case associateReject(AssociateReject)
    case data([PresentationDataValue])
    case releaseRequest
    case releaseResponse
    /// Source 0 service-user, 2 service-provider; reason per PS3.8 Table 9-26.
    case abort(source: UInt8, reason: UInt8)
}

/// Why bytes received are not a valid PDU; the association is aborted.
public struct PDUError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

public enum DIMSE {
    public static let applicationContext = "1.2.840.10008.3.1.1.1"
    public static let implementationClassUID = "1.2.826.0.1.3680043.10.1452.1"
    public static let implementationVersionName = "HYGIE_1"
    /// What Hygie announces it can receive in one PDU.
    public static let maximumPDULength: UInt32 = 1 << 20
    /// The largest data set taken in one message unless configured otherwise (see
    /// `Association.maximumDataSetLength`).
    public static let maximumDataSetLength = 1 << 30
}

// MARK: Encoding

extension PDU {
    /// Appends the PDU, header and all, to `buffer` (big endian throughout, PS3.8 §9.3.1).
    public func encode(into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        func header(_ type: UInt8) {
            buffer.writeInteger(type)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(0))  // length, patched below
        }
        switch self {
        case .associateRequest(let request):
            header(0x01)
            Self.writeAssociateHeader(&buffer, called: request.calledAE, calling: request.callingAE)
            Self.writeItem(&buffer, 0x10, ascii: request.applicationContext)
            for context in request.contexts {
                Self.writeItem(&buffer, 0x20) { item in
                    item.writeInteger(context.id)
                    item.writeInteger(UInt8(0))
                    item.writeInteger(UInt8(0))
                    item.writeInteger(UInt8(0))
                    Self.writeItem(&item, 0x30, ascii: context.abstractSyntax)
                    for syntax in context.transferSyntaxes { Self.writeItem(&item, 0x40, ascii: syntax) }
                }
            }
            Self.writeUserInformation(&buffer, request.userInformation)
        case .associateAccept(let accept):
            header(0x02)
            Self.writeAssociateHeader(&buffer, called: accept.calledAE, calling: accept.callingAE)
            Self.writeItem(&buffer, 0x10, ascii: accept.applicationContext)
            for context in accept.contexts {
                Self.writeItem(&buffer, 0x21) { item in
                    item.writeInteger(context.id)
                    item.writeInteger(UInt8(0))
                    item.writeInteger(context.result.rawValue)
                    item.writeInteger(UInt8(0))
                    Self.writeItem(&item, 0x40, ascii: context.transferSyntax)
                }
            }
            Self.writeUserInformation(&buffer, accept.userInformation)
        case .associateReject(let reject):
            header(0x03)
            buffer.writeBytes([0, reject.result, reject.source, reject.reason])
        case .data(let values):
            header(0x04)
            for value in values {
                buffer.writeInteger(UInt32(value.data.readableBytes + 2))
                buffer.writeInteger(value.contextID)
                buffer.writeInteger(UInt8((value.isCommand ? 1 : 0) | (value.isLast ? 2 : 0)))
                var data = value.data
                buffer.writeBuffer(&data)
            }
        case .releaseRequest:
            header(0x05)
            buffer.writeInteger(UInt32(0))
        case .releaseResponse:
            header(0x06)
            buffer.writeInteger(UInt32(0))
        case .abort(let source, let reason):
            header(0x07)
            buffer.writeBytes([0, 0, source, reason])
        }
        buffer.setInteger(UInt32(buffer.writerIndex - start - 6), at: start + 2)
    }

    static func writeAssociateHeader(_ buffer: inout ByteBuffer, called: String, calling: String) {
        buffer.writeInteger(UInt16(1))  // protocol version
        buffer.writeInteger(UInt16(0))
        buffer.writeBytes(aeField(called))
        buffer.writeBytes(aeField(calling))
        buffer.writeRepeatingByte(0, count: 32)
    }

    /// An AE title as the 16-byte space-padded field of the association PDUs.
    static func aeField(_ title: String) -> [UInt8] {
        let bytes = Array(title.utf8.prefix(16))
        return bytes + [UInt8](repeating: 0x20, count: 16 - bytes.count)
    }

    static func writeItem(_ buffer: inout ByteBuffer, _ type: UInt8, ascii: String) {
        writeItem(&buffer, type) { $0.writeString(ascii) }
    }

    static func writeItem(_ buffer: inout ByteBuffer, _ type: UInt8, body: (inout ByteBuffer) -> Void) {
        buffer.writeInteger(type)
        buffer.writeInteger(UInt8(0))
        let lengthAt = buffer.writerIndex
        buffer.writeInteger(UInt16(0))
        body(&buffer)
        buffer.setInteger(UInt16(buffer.writerIndex - lengthAt - 2), at: lengthAt)
    }

    static func writeUserInformation(_ buffer: inout ByteBuffer, _ information: UserInformation) {
        writeItem(&buffer, 0x50) { item in
            writeItem(&item, 0x51) { $0.writeInteger(information.maximumLength) }
            writeItem(&item, 0x52, ascii: information.implementationClassUID)
            if let name = information.implementationVersionName { writeItem(&item, 0x55, ascii: name) }
        }
    }
}

// MARK: Decoding

extension PDU {
    /// Reads the PDU of `type` from its variable field.
    package static func decode(type: UInt8, body: inout ByteBuffer) throws -> PDU {
        switch type {
        case 0x01, 0x02:
            guard body.readableBytes >= 68, let version = body.readInteger(as: UInt16.self) else { throw PDUError("The association PDU is too short.") }
            body.moveReaderIndex(forwardBy: 2)
            let called = Self.aeTitle(body.readBytes(length: 16)!)
            let calling = Self.aeTitle(body.readBytes(length: 16)!)
            body.moveReaderIndex(forwardBy: 32)
            guard version & 1 == 1 else { throw AssociateReject.protocolVersionNotSupported }
            var applicationContext = ""
            var proposed: [ProposedContext] = []
            var results: [ContextResult] = []
            var user = UserInformation(maximumLength: 0, implementationClassUID: "", implementationVersionName: nil)
            while body.readableBytes > 0 {
                var (itemType, item) = try readItem(&body)
                switch itemType {
                case 0x10:
                    applicationContext = uid(&item)
                case 0x20, 0x21:
                    guard item.readableBytes >= 4 else { throw PDUError("A presentation context item is too short.") }
                    let id = item.readInteger(as: UInt8.self)!
                    item.moveReaderIndex(forwardBy: 1)
                    let result = item.readInteger(as: UInt8.self)!
                    item.moveReaderIndex(forwardBy: 1)
                    var abstract = ""
                    var syntaxes: [String] = []
                    while item.readableBytes > 0 {
                        var (subType, sub) = try readItem(&item)
                        if subType == 0x30 { abstract = uid(&sub) }
                        if subType == 0x40 { syntaxes.append(uid(&sub)) }
                    }
                    if itemType == 0x20 {
                        proposed.append(ProposedContext(id: id, abstractSyntax: abstract, transferSyntaxes: syntaxes))
                    } else {
                        results.append(ContextResult(id: id, result: ContextResult.Result(rawValue: result) ?? .noReason, transferSyntax: syntaxes.first ?? ""))
                    }
                case 0x50:
                    while item.readableBytes > 0 {
                        var (subType, sub) = try readItem(&item)
                        switch subType {
                        case 0x51: user.maximumLength = sub.readInteger(as: UInt32.self) ?? 0
                        case 0x52: user.implementationClassUID = uid(&sub)
                        case 0x55: user.implementationVersionName = uid(&sub)
                        default: continue  // asynchronous operations, role selection, extended negotiation: not used
                        }
                    }
                default:
                    continue
                }
            }
            if type == 0x01 {
                var request = AssociateRequest(calledAE: called, callingAE: calling, contexts: proposed, userInformation: user)
                request.applicationContext = applicationContext
                return .associateRequest(request)
            }
            var accept = AssociateAccept(calledAE: called, callingAE: calling, contexts: results, userInformation: user)
            accept.applicationContext = applicationContext
            return .associateAccept(accept)
        case 0x03:
            guard let bytes = body.readBytes(length: 4) else { throw PDUError("The A-ASSOCIATE-RJ PDU is too short.") }
            return .associateReject(AssociateReject(result: bytes[1], source: bytes[2], reason: bytes[3]))
        case 0x04:
            var values: [PresentationDataValue] = []
            while body.readableBytes > 0 {
                guard let length = body.readInteger(as: UInt32.self), length >= 2, Int(length) <= body.readableBytes else {
                    throw PDUError("A presentation data value item has an invalid length.")
                }
                let contextID = body.readInteger(as: UInt8.self)!
                let header = body.readInteger(as: UInt8.self)!
                let data = body.readSlice(length: Int(length) - 2)!
                values.append(PresentationDataValue(contextID: contextID, isCommand: header & 1 == 1, isLast: header & 2 == 2, data: data))
            }
            return .data(values)
        case 0x05: return .releaseRequest
        case 0x06: return .releaseResponse
        case 0x07:
            guard let bytes = body.readBytes(length: 4) else { throw PDUError("The A-ABORT PDU is too short.") }
            return .abort(source: bytes[2], reason: bytes[3])
        default:
            throw PDUError("Unknown PDU type \(type).")
        }
    }

    static func readItem(_ buffer: inout ByteBuffer) throws -> (UInt8, ByteBuffer) {
        guard let type = buffer.readInteger(as: UInt8.self), buffer.readInteger(as: UInt8.self) != nil,
              let length = buffer.readInteger(as: UInt16.self), let item = buffer.readSlice(length: Int(length))
        else { throw PDUError("An association item is truncated.") }
        return (type, item)
    }

    static func uid(_ buffer: inout ByteBuffer) -> String {
        String(decoding: buffer.readBytes(length: buffer.readableBytes) ?? [], as: UTF8.self)
            .trimmingCharacters(in: [" ", "\0"])
    }

    static func aeTitle(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: [" ", "\0"])
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        let start = firstIndex { !set.contains($0) } ?? endIndex
        let end = lastIndex { !set.contains($0) }.map { index(after: $0) } ?? start
        return start < end ? String(self[start..<end]) : ""
    }
}

/// Splits the byte stream into PDUs; a PDU longer than `maximumLength` aborts the association
/// (PS3.8 §9.3.1: the peer was told the limit for P-DATA; others are small).
package struct PDUDecoder: ByteToMessageDecoder {
    package typealias InboundOut = PDU
    let maximumLength: Int

    package init(maximumLength: Int) { self.maximumLength = maximumLength }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= 6,
              let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt32.self)
        else { return .needMoreData }
        guard Int(length) <= maximumLength + 64 else { throw PDUError("A PDU of \(length) bytes exceeds the announced maximum \(maximumLength).") }
        guard buffer.readableBytes >= 6 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 6)
        var body = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(wrapInboundOut(try PDU.decode(type: type, body: &body)))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

struct PDUEncoder: MessageToByteEncoder {
    typealias OutboundIn = PDU
    func encode(data: PDU, out: inout ByteBuffer) throws { data.encode(into: &out) }
}
