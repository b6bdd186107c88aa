import DICOM
import NIOCore
import NIOPosix

/// A remote application entity Hygie talks to as a requester (SCU).
public struct RemoteNode: Sendable, Equatable {
    public var aeTitle: String
    public var host: String
    public var port: Int

    public init(aeTitle: String, host: String, port: Int) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
    }
}

/// The DIMSE requester (SCU): opens an association, runs the caller's exchange on it, then
/// releases it (or aborts it if the exchange failed).
public enum DIMSEClient {
    public static func withAssociation<T: Sendable>(
        to node: RemoteNode, callingAE: String, contexts: [ProposedContext], connectTimeout: TimeAmount = .seconds(10),
        _ body: (Association) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .connect(host: node.host, port: node.port) { channel in channel.configureForDICOM() }
        let remote = channel.channel.remoteAddress?.ipAddress
        return try await channel.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            try await outbound.write(.associateRequest(AssociateRequest(
                calledAE: node.aeTitle, callingAE: callingAE, contexts: contexts,
                userInformation: UserInformation(
                    maximumLength: DIMSE.maximumPDULength, implementationClassUID: DIMSE.implementationClassUID,
                    implementationVersionName: DIMSE.implementationVersionName))))
            guard let answer = try await iterator.next() else { throw AssociationError.closed }
            let accept: AssociateAccept
            switch answer {
            case .associateAccept(let value): accept = value
            case .associateReject(let reject): throw AssociationError.rejected(reject)
            case .abort(let source, let reason): throw AssociationError.aborted(source: source, reason: reason)
            default: throw AssociationError.protocolViolation("the answer to A-ASSOCIATE-RQ was neither AC nor RJ")
            }
            var accepted: [UInt8: AcceptedContext] = [:]
            for result in accept.contexts where result.result == .acceptance {
                guard let proposed = contexts.first(where: { $0.id == result.id }) else { continue }
                accepted[result.id] = AcceptedContext(id: result.id, abstractSyntax: proposed.abstractSyntax, transferSyntax: TransferSyntax(uid: result.transferSyntax))
            }
            let association = Association(
                callingAE: callingAE, calledAE: node.aeTitle, remoteAddress: remote, contexts: accepted,
                peerMaximumLength: accept.userInformation.maximumLength, inbound: iterator, outbound: outbound)
            do {
                let value = try await body(association)
                try await association.release()
                return value
            } catch {
                await association.abort()
                throw error
            }
        }
    }

    /// Presentation contexts proposing each abstract syntax once with the uncompressed syntaxes.
    public static func contexts(_ abstractSyntaxes: [String]) -> [ProposedContext] {
        abstractSyntaxes.enumerated().map { index, uid in
            ProposedContext(id: UInt8(index * 2 + 1), abstractSyntax: uid, transferSyntaxes: TransferSyntaxes.uncompressed)
        }
    }

    /// Contexts for sending instances: each (SOP class, stored syntax) pair, and the SOP class
    /// with the uncompressed syntaxes as a fallback. At most 128 contexts (PS3.8 §9.3.2.2).
    public static func storageContexts(_ pairs: [(sopClass: String, syntax: String)]) -> [ProposedContext] {
        var contexts: [ProposedContext] = []
        var seen: Set<String> = []
        for (sopClass, syntax) in pairs where contexts.count < 127 {
            if seen.insert("\(sopClass)|\(syntax)").inserted, !TransferSyntaxes.uncompressed.contains(syntax) {
                contexts.append(ProposedContext(id: UInt8(contexts.count * 2 + 1), abstractSyntax: sopClass, transferSyntaxes: [syntax]))
            }
            if seen.insert("\(sopClass)|native").inserted {
                contexts.append(ProposedContext(id: UInt8(contexts.count * 2 + 1), abstractSyntax: sopClass, transferSyntaxes: TransferSyntaxes.uncompressed))
            }
        }
        return contexts
    }
}

/// The outcome of a query or retrieve that ended in a failure status.
public struct DIMSEFailure: Error, Sendable, CustomStringConvertible {
    public var status: UInt16
    public var comment: String?
    public var description: String {
        "The peer answered with status \(Status.hex(status))" + (comment.map { ": \($0)" } ?? ".")
    }
}

// MARK: Requests

extension Association {
    /// C-ECHO (PS3.7 §9.1.5): the status the peer answered.
    public func echo() async throws -> UInt16 {
        guard let context = context(for: SOPClass.verification) else { throw AssociationError.noContext("verification") }
        var command = Command(.echoRequest, messageID: makeMessageID(), hasDataSet: false)
        command.affectedSOPClass = SOPClass.verification
        try await send(Message(contextID: context.id, command: command))
        return try await response(to: command.messageID).command.status
    }

    /// C-STORE (PS3.7 §9.1.1) of one data set already encoded in `syntax`. Returns the status
    /// and the peer's error comment.
    public func store(
        dataSet: [UInt8], sopClass: String, sopInstance: String, syntax: String, moveOriginator: (ae: String, messageID: UInt16)? = nil
    ) async throws -> (status: UInt16, comment: String?) {
        guard let context = context(for: sopClass, syntaxes: [syntax]) else { throw AssociationError.noContext("\(sopClass) in \(syntax)") }
        var command = Command(.storeRequest, messageID: makeMessageID(), hasDataSet: true)
        command.affectedSOPClass = sopClass
        command.affectedSOPInstance = sopInstance
        command.set(.priority, 0)
        if let moveOriginator {
            command.moveOriginatorAE = moveOriginator.ae
            command.set(.moveOriginatorMessageID, moveOriginator.messageID)
        }
        try await send(Message(contextID: context.id, command: command, dataSet: dataSet))
        let response = try await response(to: command.messageID).command
        return (response.status, response.errorComment)
    }

    /// C-FIND (PS3.7 §9.1.2) with `model` (patient or study root): every matching identifier.
    public func find(_ identifier: DataSet, model: String = SOPClass.studyRootFind) async throws -> [DataSet] {
        guard let context = context(for: model) else { throw AssociationError.noContext(model) }
        var command = Command(.findRequest, messageID: makeMessageID(), hasDataSet: true)
        command.affectedSOPClass = model
        command.set(.priority, 0)
        try await send(Message(contextID: context.id, command: command, dataSet: Self.encode(identifier, context.transferSyntax)))
        var results: [DataSet] = []
        while true {
            let response = try await response(to: command.messageID)
            let status = response.command.status
            if Status.isPending(status) {
                if let data = response.dataSet { results.append(try DICOMFile.readDataSet(data, syntax: context.transferSyntax)) }
                continue
            }
            guard status == Status.success else { throw DIMSEFailure(status: status, comment: response.command.errorComment) }
            return results
        }
    }

    /// C-MOVE (PS3.7 §9.1.4): asks the peer to send what `identifier` selects to `destination`;
    /// returns the final status and sub-operation counts.
    /// `messageID` lets the caller recognise the C-STOREs this move causes (their move originator).
    public func move(
        _ identifier: DataSet, destination: String, model: String = SOPClass.studyRootMove, messageID: UInt16? = nil
    ) async throws -> (status: UInt16, counts: SubOperations) {
        guard let context = context(for: model) else { throw AssociationError.noContext(model) }
        var command = Command(.moveRequest, messageID: messageID ?? makeMessageID(), hasDataSet: true)
        command.affectedSOPClass = model
        command.moveDestination = destination
        command.set(.priority, 0)
        try await send(Message(contextID: context.id, command: command, dataSet: Self.encode(identifier, context.transferSyntax)))
        while true {
            let response = try await response(to: command.messageID).command
            if Status.isPending(response.status) { continue }
            return (response.status, response.subOperations)
        }
    }

    /// The next message, which must answer `messageID`.
    func response(to messageID: UInt16) async throws -> Message {
        guard case .message(let message) = try await receive() else { throw AssociationError.protocolViolation("the peer released while a request was outstanding") }
        guard message.command.respondingTo == messageID else {
            throw AssociationError.protocolViolation("a response to message \(message.command.respondingTo) arrived while \(messageID) was outstanding")
        }
        return message
    }

    static func encode(_ dataSet: DataSet, _ syntax: TransferSyntax) -> [UInt8] {
        var writer = DataSetWriter(explicitVR: syntax.isExplicitVR)
        writer.write(dataSet)
        return writer.bytes
    }

    /// Encodes a response identifier or data set for the message's context.
    public func encode(_ dataSet: DataSet, for message: Message) -> [UInt8] {
        Self.encode(dataSet, contexts[message.contextID]?.transferSyntax ?? .implicitVRLittleEndian)
    }
}
