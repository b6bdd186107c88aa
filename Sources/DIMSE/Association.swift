import DICOM
import NIOCore
import NIOPosix

/// A presentation context both sides agreed on.
public struct AcceptedContext: Sendable, Equatable {
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntax: TransferSyntax
}

/// Why an association ended before the exchange did.
public enum AssociationError: Error, Sendable, CustomStringConvertible {
    case rejected(AssociateReject)
    case aborted(source: UInt8, reason: UInt8)
    case closed
    case protocolViolation(String)
    case noContext(String)

    public var description: String {
        switch self {
        case .rejected(let reject): return "The peer rejected the association (result \(reject.result), source \(reject.source), reason \(reject.reason))."
        case .aborted(let source, let reason): return "The association was aborted (source \(source), reason \(reason))."
        case .closed: return "The peer closed the connection."
        case .protocolViolation(let what): return "The peer broke the DICOM upper layer protocol: \(what)."
        case .noContext(let what): return "No accepted presentation context for \(what)."
        }
    }
}

/// One established association: DIMSE messages in and out over P-DATA-TF PDUs. It belongs to
/// the task that opened it (requester or acceptor) and is used by that task alone.
public final class Association {
    public let callingAE: String
    public let calledAE: String
    public let remoteAddress: String?
    public let contexts: [UInt8: AcceptedContext]
    /// Largest PDU variable field the peer accepts; data are split to fit.
    let peerMaximumLength: Int
    /// Largest data set taken in one message. Past it the rest of the data set is read and
    /// dropped, and the message handed over `oversized`, so that a peer cannot make this side
    /// hold more than that much of one message (PDUs are bounded, their number is not).
    let maximumDataSetLength: Int
    /// Command sets are a few hundred bytes; a longer one is a broken or hostile peer.
    static let maximumCommandLength = 65_536
    var inbound: NIOAsyncChannelInboundStream<PDU>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<PDU>
    var nextMessageID: UInt16 = 1

    init(
        callingAE: String, calledAE: String, remoteAddress: String?, contexts: [UInt8: AcceptedContext], peerMaximumLength: UInt32,
        inbound: NIOAsyncChannelInboundStream<PDU>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<PDU>,
        maximumDataSetLength: Int = DIMSE.maximumDataSetLength
    ) {
        self.callingAE = callingAE
        self.calledAE = calledAE
        self.remoteAddress = remoteAddress
        self.contexts = contexts
        self.peerMaximumLength = peerMaximumLength == 0 ? Int(DIMSE.maximumPDULength) : min(Int(peerMaximumLength), 1 << 24)
        self.maximumDataSetLength = maximumDataSetLength
        self.inbound = inbound
        self.outbound = outbound
    }

    /// An id for the next request this side sends.
    public func makeMessageID() -> UInt16 {
        defer { nextMessageID &+= 1 }
        return nextMessageID
    }

    /// The first accepted context for `abstractSyntax` (whose transfer syntax is one of
    /// `syntaxes`, when given).
    public func context(for abstractSyntax: String, syntaxes: Set<String>? = nil) -> AcceptedContext? {
        contexts.values.sorted { $0.id < $1.id }.first {
            $0.abstractSyntax == abstractSyntax && (syntaxes?.contains($0.transferSyntax.uid) ?? true)
        }
    }

    public enum Received {
        case message(Message)
        /// The peer asked to release: finish the association's work, then `acknowledgeRelease`.
        case releaseRequested
    }

    /// The next whole message (command, then its data set when it has one; a data set past
    /// `maximumDataSetLength` is read to its end, dropped, and the message marked `oversized`).
    public func receive() async throws -> Received {
        var command: [UInt8] = []
        var data: [UInt8]?
        var oversized = false
        var commandContext: UInt8?
        var parsed: Command?
        while true {
            guard let pdu = try await inbound.next() else { throw AssociationError.closed }
            switch pdu {
            case .data(let values):
                for value in values {
                    guard contexts[value.contextID] != nil else {
                        throw AssociationError.protocolViolation("presentation context \(value.contextID) was not accepted")
                    }
                    let bytes = value.data
                    if value.isCommand {
                        guard parsed == nil else { throw AssociationError.protocolViolation("a command fragment arrived after the command ended") }
                        commandContext = value.contextID
                        guard command.count + bytes.readableBytes <= Self.maximumCommandLength else {
                            throw AssociationError.protocolViolation("a command set is longer than \(Self.maximumCommandLength) bytes")
                        }
                        command.append(contentsOf: bytes.readableBytesView)
                        if value.isLast {
                            let decoded = try Command.decode(command)
                            guard decoded.hasDataSet else { return .message(Message(contextID: value.contextID, command: decoded)) }
                            parsed = decoded
                            data = []
                        }
                    } else {
                        guard let current = parsed, value.contextID == commandContext else {
                            throw AssociationError.protocolViolation("a data set fragment arrived without its command")
                        }
                        if !oversized, data!.count + bytes.readableBytes > maximumDataSetLength {
                            oversized = true
                            data = []
                        }
                        if !oversized { data!.append(contentsOf: bytes.readableBytesView) }
                        if value.isLast {
                            return .message(Message(contextID: value.contextID, command: current, dataSet: oversized ? nil : data, oversized: oversized))
                        }
                    }
                }
            case .releaseRequest:
                return .releaseRequested
            case .abort(let source, let reason):
                throw AssociationError.aborted(source: source, reason: reason)
            default:
                throw AssociationError.protocolViolation("an unexpected PDU arrived during the association")
            }
        }
    }

    /// Sends a message, its data set split into PDUs that fit the peer's maximum length, all
    /// written with one flush.
    public func send(_ message: Message) async throws {
        let chunk = max(256, peerMaximumLength - 6)
        var pdus: [PDU] = []
        let command = message.command.encoded()
        pdus.append(.data([PresentationDataValue(contextID: message.contextID, isCommand: true, isLast: true, data: ByteBuffer(bytes: command))]))
        if let dataSet = message.dataSet {
            let buffer = ByteBuffer(bytes: dataSet)
            var offset = 0
            repeat {
                let length = min(chunk, dataSet.count - offset)
                let slice = buffer.getSlice(at: offset, length: length)!
                offset += length
                pdus.append(.data([PresentationDataValue(contextID: message.contextID, isCommand: false, isLast: offset == dataSet.count, data: slice)]))
            } while offset < dataSet.count
        }
        try await outbound.write(contentsOf: pdus)
    }

    /// Answers a request whose data set was past `maximumDataSetLength` with "Refused: Out of
    /// Resources" (PS3.4 Annexes B and C: A700 for C-STORE and C-FIND, A701 for C-MOVE and
    /// C-GET) and the limit in the error comment; the request never reaches the session.
    public func refuseOversized(_ message: Message) async throws {
        guard let field = message.command.field, let answer = CommandField(rawValue: field.rawValue | 0x8000) else { return }
        var response = Command(answer, respondingTo: message.command.messageID, hasDataSet: false)
        response.affectedSOPClass = message.command.affectedSOPClass ?? contexts[message.contextID]?.abstractSyntax
        response.affectedSOPInstance = message.command.affectedSOPInstance
        response.setStatus(field == .moveRequest || field == .getRequest ? Status.outOfResourcesMatches : Status.outOfResources)
        response.errorComment = "Data set larger than \(maximumDataSetLength) bytes"
        try await send(Message(contextID: message.contextID, command: response))
    }

    /// Answers the peer's release request (A-RELEASE-RP).
    public func acknowledgeRelease() async throws {
        try await outbound.write(.releaseResponse)
    }

    /// Asks the peer to release and waits for its answer (requester side).
    public func release() async throws {
        try await outbound.write(.releaseRequest)
        while let pdu = try await inbound.next() {
            switch pdu {
            case .releaseResponse: return
            case .releaseRequest: try await outbound.write(.releaseResponse); return
            case .abort: return
            default: continue
            }
        }
    }

    public func abort() async {
        try? await outbound.write(.abort(source: 0, reason: 0))
    }
}

extension Channel {
    /// The PDU codec and the options every DICOM socket gets (Nagle off: a C-STORE response
    /// must not wait for the next write; reads acknowledged at once, see `AcknowledgeEachRead`).
    func configureForDICOM(idleTimeout: TimeAmount? = nil) -> EventLoopFuture<NIOAsyncChannel<PDU, PDU>> {
        eventLoop.makeCompletedFuture {
            try addDICOMHandlers(idleTimeout: idleTimeout)
            return try NIOAsyncChannel<PDU, PDU>(wrappingChannelSynchronously: self)
        }
    }

    /// The options and handlers of `configureForDICOM`, on the channel's event loop.
    func addDICOMHandlers(idleTimeout: TimeAmount?) throws {
        try syncOptions?.setOption(.tcpOption(.tcp_nodelay), value: 1)
        try pipeline.syncOperations.addHandler(AcknowledgeEachRead())
        if let idleTimeout {
            try pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
            try pipeline.syncOperations.addHandler(CloseWhenIdle())
        }
        try pipeline.syncOperations.addHandler(ByteToMessageHandler(PDUDecoder(maximumLength: Int(DIMSE.maximumPDULength))))
        try pipeline.syncOperations.addHandler(MessageToByteHandler(PDUEncoder()))
    }
}

/// Acknowledges what was read at once instead of holding the ACK back for up to 40 ms.
///
/// Most peers leave Nagle's algorithm on (pynetdicom, DCMTK without `TCP_NODELAY`) and write a
/// message as two PDUs, command then data set: the second waits until the first is
/// acknowledged. Once Hygie has answered on a connection, Linux delays ACKs there in the hope
/// of carrying them on the next answer, which cannot come before the data set: every message
/// then stalls for the delayed-ACK timer (a pynetdicom C-STORE of a small image: 49 ms, 20
/// instances/s). `TCP_QUICKACK` sends the pending ACK now and leaves that mode, but the kernel
/// enters it again after the next answer, so it is set after every read.
final class AcknowledgeEachRead: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    #if os(Linux)
    static let quickAck = ChannelOptions.Types.SocketOption(level: .tcp, name: NIOBSDSocket.Option(rawValue: 12))  // TCP_QUICKACK
    #endif

    func channelReadComplete(context: ChannelHandlerContext) {
        #if os(Linux)
        try? context.channel.syncOptions?.setOption(Self.quickAck, value: 1)
        #endif
        context.fireChannelReadComplete()
    }
}
