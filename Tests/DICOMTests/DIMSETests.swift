import DICOM
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import DIMSE

/// The upper layer protocol and DIMSE messages, in process: PDUs survive encoding, an
/// association negotiates contexts, messages larger than a PDU are split and reassembled,
/// and a provider's refusal reaches the requester as A-ASSOCIATE-RJ.
@Suite struct DIMSETests {
    @Test func associationPDUsRoundTrip() throws {
        let request = AssociateRequest(
            calledAE: "HYGIE", callingAE: "CT1",
            contexts: [ProposedContext(id: 1, abstractSyntax: SOPClass.verification, transferSyntaxes: TransferSyntaxes.uncompressed)],
            userInformation: UserInformation(maximumLength: 16384, implementationClassUID: "1.2.3", implementationVersionName: "X"))
        for pdu in [PDU.associateRequest(request), .releaseRequest, .releaseResponse, .abort(source: 2, reason: 1),
                    .associateReject(.callingAETitleNotRecognized),
                    .data([PresentationDataValue(contextID: 1, isCommand: true, isLast: true, data: ByteBuffer(bytes: [1, 2, 3, 4]))])] {
            var buffer = ByteBuffer()
            pdu.encode(into: &buffer)
            let type = buffer.readInteger(as: UInt8.self)!
            buffer.moveReaderIndex(forwardBy: 1)
            let length = buffer.readInteger(as: UInt32.self)!
            #expect(Int(length) == buffer.readableBytes)
            #expect(try PDU.decode(type: type, body: &buffer) == pdu)
        }
    }

    @Test func truncatedItemsAreRefusedNotTrusted() throws {
        var buffer = ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x10, 0x01, 0x03])  // a PDV claiming 16 bytes, carrying 2
        #expect(throws: PDUError.self) { try PDU.decode(type: 0x04, body: &buffer) }
    }

    @Test func commandSetsRoundTripInImplicitLittleEndian() throws {
        var command = Command(.storeRequest, messageID: 7, hasDataSet: true)
        command.affectedSOPClass = "1.2.840.10008.5.1.4.1.1.2"
        command.affectedSOPInstance = "1.2.3.4"
        command.subOperations = SubOperations(remaining: 3, completed: 1, failed: 0, warning: 2)
        let decoded = try Command.decode(command.encoded())
        #expect(decoded.field == .storeRequest)
        #expect(decoded.messageID == 7)
        #expect(decoded.hasDataSet)
        #expect(decoded.affectedSOPInstance == "1.2.3.4")
        #expect(decoded.subOperations == SubOperations(remaining: 3, completed: 1, failed: 0, warning: 2))
    }

    /// Echoes every data set back in a C-STORE response's error comment length, and answers
    /// C-ECHO; refuses callers other than "FRIEND".
    struct EchoProvider: DIMSEServiceProvider, DIMSESession {
        func associate(_ request: AssociateRequest, remoteAddress: String?) async throws -> any DIMSESession {
            guard request.callingAE == "FRIEND" else { throw AssociateReject.callingAETitleNotRecognized }
            return self
        }
        func transferSyntax(for context: ProposedContext) -> String? { TransferSyntaxes.forStorage(context.transferSyntaxes) }
        func handle(_ message: Message, on association: Association) async throws {
            let field: CommandField = message.command.field == .echoRequest ? .echoResponse : .storeResponse
            var response = Command(field, respondingTo: message.command.messageID, hasDataSet: false)
            response.setStatus(message.dataSet.map { $0.count == 3_000_001 ? Status.success : 0xC000 } ?? Status.success)
            try await association.send(Message(contextID: message.contextID, command: response))
        }
        func end() async {}
    }

    static let contexts = DIMSEClient.contexts([SOPClass.verification, "1.2.840.10008.5.1.4.1.1.2"])

    /// Runs an `EchoProvider` server on a free port for `body`.
    func withEchoServer(maximumDataSetLength: Int = DIMSE.maximumDataSetLength, _ body: (RemoteNode) async throws -> Void) async throws {
        let server = DIMSEServer(
            host: "127.0.0.1", port: 0, provider: EchoProvider(), maximumDataSetLength: maximumDataSetLength, logger: Logger(label: "dimse-test"))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        try await withThrowingTaskGroup { group in
            group.addTask { try await server.run { continuation.yield($0) } }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(RemoteNode(aeTitle: "HYGIE", host: "127.0.0.1", port: port))
            group.cancelAll()
        }
    }

    func storeThreeMegabytes(over association: Association) async throws -> (status: UInt16, comment: String?) {
        try await association.store(
            dataSet: [UInt8](repeating: 7, count: 3_000_001), sopClass: "1.2.840.10008.5.1.4.1.1.2", sopInstance: "1.2.3",
            syntax: TransferSyntax.explicitVRLittleEndian.uid)
    }

    @Test func anAssociationCarriesMessagesLargerThanAPDU() async throws {
        try await withEchoServer { node in
            let statuses = try await DIMSEClient.withAssociation(to: node, callingAE: "FRIEND", contexts: Self.contexts) { association in
                [try await association.echo(), try await storeThreeMegabytes(over: association).status]
            }
            #expect(statuses == [Status.success, Status.success])
            await #expect(throws: AssociationError.self) {
                try await DIMSEClient.withAssociation(to: node, callingAE: "STRANGER", contexts: Self.contexts) { try await $0.echo() }
            }
        }
    }

    /// A peer cannot make the server hold more of one message than the limit (PDUs are
    /// bounded, their number is not): a data set past it is read to its end and dropped, the
    /// request is answered "out of resources" with the limit, and the association goes on.
    @Test func aDataSetPastTheLimitIsRefusedAndTheAssociationGoesOn() async throws {
        try await withEchoServer(maximumDataSetLength: 1_000_000) { node in
            let (store, echo) = try await DIMSEClient.withAssociation(to: node, callingAE: "FRIEND", contexts: Self.contexts) { association in
                (try await storeThreeMegabytes(over: association), try await association.echo())
            }
            #expect(store.status == Status.outOfResources)
            #expect(store.comment == "Data set larger than 1000000 bytes")
            #expect(echo == Status.success)
        }
    }

    #if os(Linux)
    /// A DICOM socket leaves Linux's delayed-ACK mode after every read, so that a peer with
    /// Nagle on sends its data set as soon as Hygie has its command instead of 40 ms later.
    /// The server here starts in that mode (`TCP_QUICKACK` 0, as after an answer) and a probe
    /// placed after the DICOM handlers reads the option once the peer's bytes are read.
    @Test func everyReadIsAcknowledgedAtOnce() async throws {
        let (modes, seen) = AsyncStream.makeStream(of: Int.self)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    do {
                        try channel.addDICOMHandlers(idleTimeout: nil)
                        let acknowledging = try channel.pipeline.syncOperations.handler(type: AcknowledgeEachRead.self)
                        try channel.pipeline.syncOperations.addHandler(QuickAckProbe(seen: seen), position: .after(acknowledging))
                    } catch {
                        seen.finish()
                        throw error
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.localAddress!.port!).get()
        var observed = modes.makeAsyncIterator()
        #expect(await observed.next() == 0)  // delayed ACKs before anything is read
        try await client.writeAndFlush(ByteBuffer(bytes: [0x05])).get()
        #expect(await observed.next() == 1)  // acknowledged at once after the read
        try await client.close()
        try await server.close()
    }

    /// Puts the socket in delayed-ACK mode when it opens, then reports `TCP_QUICKACK` when it
    /// opens and after each read.
    final class QuickAckProbe: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        let seen: AsyncStream<Int>.Continuation
        init(seen: AsyncStream<Int>.Continuation) { self.seen = seen }

        func channelActive(context: ChannelHandlerContext) {
            try? context.channel.syncOptions?.setOption(AcknowledgeEachRead.quickAck, value: 0)
            report(context)
            context.fireChannelActive()
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            report(context)
            context.fireChannelReadComplete()
        }

        func report(_ context: ChannelHandlerContext) {
            seen.yield((try? context.channel.syncOptions?.getOption(AcknowledgeEachRead.quickAck)) ?? -1)
        }
    }
    #endif
}
