import DICOM
import Logging
import NIOCore
import NIOPosix

/// Decides who may associate, and serves each association it accepts.
public protocol DIMSEServiceProvider: Sendable {
    /// The session for an association request, or an `AssociateReject` thrown to refuse it
    /// (unknown calling AE, wrong called AE…).
    func associate(_ request: AssociateRequest, remoteAddress: String?) async throws -> any DIMSESession
}

/// One accepted association, as the service provider sees it.
public protocol DIMSESession: Sendable {
    /// The transfer syntax accepted for a proposed context; nil refuses the context.
    func transferSyntax(for context: ProposedContext) -> String?
    /// Answers one request; responses (pending ones included) are sent on `association`.
    func handle(_ message: Message, on association: Association) async throws
    /// Called once when the association ends: before the release response, or after an abort
    /// or a lost connection.
    func end() async
}

/// The DIMSE acceptor (PS3.8): listens on TCP, negotiates associations through the provider
/// and hands each message to its session, one association per task.
public struct DIMSEServer: Sendable {
    public let host: String
    public let port: Int
    public let provider: any DIMSEServiceProvider
    /// Seconds without any PDU before the association is dropped (the ARTIM timer, PS3.8 §9.1.5, generalised).
    public let idleTimeout: Int64
    /// The largest data set a peer may send in one message; a larger one is read, dropped
    /// and refused "out of resources" (`Association.refuseOversized`).
    public let maximumDataSetLength: Int
    public let logger: Logger

    public init(
        host: String, port: Int, provider: any DIMSEServiceProvider, idleTimeout: Int64 = 300,
        maximumDataSetLength: Int = DIMSE.maximumDataSetLength, logger: Logger
    ) {
        self.host = host
        self.port = port
        self.provider = provider
        self.idleTimeout = idleTimeout
        self.maximumDataSetLength = maximumDataSetLength
        self.logger = logger
    }

    /// Listens until the task is cancelled; `onBound` gets the port actually bound.
    public func run(onBound: @Sendable (Int) -> Void = { _ in }) async throws {
        let timeout = idleTimeout
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 128)
            .bind(host: host, port: port) { channel in channel.configureForDICOM(idleTimeout: .seconds(timeout)) }
        onBound(server.channel.localAddress?.port ?? port)
        logger.info("DICOM DIMSE listening", metadata: ["address": "\(host):\(server.channel.localAddress?.port ?? port)"])
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await serve(connection) }
                }
            }
        }
    }

    func serve(_ connection: NIOAsyncChannel<PDU, PDU>) async {
        let remote = connection.channel.remoteAddress?.ipAddress
        do {
            try await connection.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                guard case .associateRequest(let request)? = try await iterator.next() else {
                    try await outbound.write(.abort(source: 2, reason: 2))
                    return
                }
                let session: any DIMSESession
                do {
                    guard request.applicationContext == DIMSE.applicationContext else { throw AssociateReject.applicationContextNotSupported }
                    session = try await provider.associate(request, remoteAddress: remote)
                } catch let reject as AssociateReject {
                    logger.notice(
                        "DICOM association refused",
                        metadata: ["calling_ae": "\(request.callingAE)", "called_ae": "\(request.calledAE)", "address": "\(remote ?? "?")", "reason": "\(reject.reason)"])
                    try await outbound.write(.associateReject(reject))
                    return
                }
                var results: [ContextResult] = []
                var accepted: [UInt8: AcceptedContext] = [:]
                for context in request.contexts {
                    if let syntax = session.transferSyntax(for: context) {
                        results.append(ContextResult(id: context.id, result: .acceptance, transferSyntax: syntax))
                        accepted[context.id] = AcceptedContext(id: context.id, abstractSyntax: context.abstractSyntax, transferSyntax: TransferSyntax(uid: syntax))
                    } else {
                        results.append(ContextResult(id: context.id, result: .abstractSyntaxNotSupported, transferSyntax: TransferSyntax.implicitVRLittleEndian.uid))
                    }
                }
                try await outbound.write(.associateAccept(AssociateAccept(
                    calledAE: request.calledAE, callingAE: request.callingAE, contexts: results,
                    userInformation: UserInformation(
                        maximumLength: DIMSE.maximumPDULength, implementationClassUID: DIMSE.implementationClassUID,
                        implementationVersionName: DIMSE.implementationVersionName))))
                let association = Association(
                    callingAE: request.callingAE, calledAE: request.calledAE, remoteAddress: remote, contexts: accepted,
                    peerMaximumLength: request.userInformation.maximumLength, inbound: iterator, outbound: outbound,
                    maximumDataSetLength: maximumDataSetLength)
                do {
                    loop: while true {
                        switch try await association.receive() {
                        case .releaseRequested:
                            // The session's work is finished before the requester learns the association is over.
                            await session.end()
                            try await association.acknowledgeRelease()
                            break loop
                        case .message(let message) where message.oversized:
                            logger.notice(
                                "DICOM request refused: its data set is past the limit",
                                metadata: ["calling_ae": "\(request.callingAE)", "limit": "\(maximumDataSetLength)"])
                            try await association.refuseOversized(message)
                        case .message(let message):
                            try await session.handle(message, on: association)
                        }
                    }
                } catch {
                    await session.end()
                    throw error
                }
            }
        } catch AssociationError.closed {
            return
        } catch {
            logger.info("DICOM association ended with an error", metadata: ["address": "\(remote ?? "?")", "error": "\(error)"])
        }
    }
}

/// Closes a connection that stayed silent past the idle timeout.
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Transfer syntaxes Hygie accepts and what it prefers.
public enum TransferSyntaxes {
    /// Uncompressed syntaxes every DICOM application speaks, preferred first.
    public static let uncompressed = [TransferSyntax.explicitVRLittleEndian.uid, TransferSyntax.implicitVRLittleEndian.uid]

    /// Syntaxes an instance may be stored in: native ones and the standard compressed ones
    /// (kept as received).
    public static let storable: Set<String> = Set(uncompressed + [
        TransferSyntax.explicitVRBigEndian.uid, TransferSyntax.deflatedExplicitVRLittleEndian.uid, TransferSyntax.rleLossless.uid,
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
        "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.103",
        "1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.107",
        "1.2.840.10008.1.2.4.108",
    ])

    /// For storage: the requester's first proposed syntax Hygie can store (kept as sent).
    public static func forStorage(_ proposed: [String]) -> String? { proposed.first { storable.contains($0) } }

    /// For queries and verification: explicit little endian if proposed, else implicit.
    public static func forCommands(_ proposed: [String]) -> String? { uncompressed.first { proposed.contains($0) } }
}
