import Access
import Core
import DICOM
import DIMSE
import FHIRStore
import Foundation
import Identity
import Imaging
import Logging
import Synchronization

/// Hygie's DICOM application entity: the DIMSE provider in front of the archive. Only the
/// configured peers may associate; each acts as its service account, so the access rules that
/// filter `/dicomweb` decide what it may store, find and move.
public final class ArchiveNode: DIMSEServiceProvider {
    let imaging: ImagingService
    let identity: IdentityService
    let tenant: TenantID
    public let aeTitle: String
    let peers: [DICOMPeer]
    let logger: Logger
    /// Imports under way: the C-MOVE message id Hygie sent → who asked, so that the instances
    /// the source sends back are filed in that person's name (PS3.7 §9.3.1.1 move originator).
    let imports = Mutex<[String: StoreTarget]>([:])
    let nextMoveID = Atomic<UInt16>(0x4000)

    public init(imaging: ImagingService, identity: IdentityService, tenant: TenantID, aeTitle: String, peers: [DICOMPeer], logger: Logger) {
        self.imaging = imaging
        self.identity = identity
        self.tenant = tenant
        self.aeTitle = aeTitle
        self.peers = peers
        self.logger = logger
    }

    public func peer(_ aeTitle: String) -> DICOMPeer? { peers.first { $0.aeTitle == aeTitle } }

    /// The grants of a peer's service account, or nil when it has none (unknown or disabled).
    func caller(of peer: DICOMPeer, address: String?) async throws -> Caller? {
        try await principal(of: peer, address: address).map(Policy.caller)
    }

    func principal(of peer: DICOMPeer, address: String?) async throws -> Principal? {
        try await identity.servicePrincipal(username: peer.account, tenant: tenant, address: address)
    }

    public func associate(_ request: AssociateRequest, remoteAddress: String?) async throws -> any DIMSESession {
        guard request.calledAE == aeTitle else { throw AssociateReject.calledAETitleNotRecognized }
        guard let peer = peer(request.callingAE) else { throw AssociateReject.callingAETitleNotRecognized }
        // A peer configured by address must call from it.
        if Self.isAddress(peer.host), let remoteAddress, remoteAddress != peer.host { throw AssociateReject.callingAETitleNotRecognized }
        guard let principal = try await principal(of: peer, address: remoteAddress) else {
            logger.warning("DICOM peer's service account is missing or disabled", metadata: ["calling_ae": "\(peer.aeTitle)", "account": "\(peer.account)"])
            throw AssociateReject.callingAETitleNotRecognized
        }
        let caller = Policy.caller(principal)
        // A modality bound to a hospital has what no patient matches held there for its technologists.
        let target = StoreTarget(caller: caller, deferred: true, holdsUnmatchedFor: principal.role.isBoundToHospital ? principal.hospital : nil)
        return ArchiveSession(node: self, peer: peer, caller: caller, touched: StudiesTouched(), store: AssociationStore(imaging.startBatch(target)))
    }

    static func isAddress(_ host: String) -> Bool {
        host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil } || host.contains(":")
    }

    // MARK: Imports

    /// Queries `peer` for the studies of `patientID` and has each moved to Hygie; what arrives
    /// is filed as `target` says (whose rights, which patient). Returns the studies found and the
    /// sub-operation totals.
    public func importStudies(patientID: String, from peer: DICOMPeer, target: StoreTarget) async throws -> ImportSummary {
        var query = DataSet()
        query.set(.queryRetrieveLevel, .CS, "STUDY")
        query.set(.patientID, .LO, patientID)
        query.set(.studyInstanceUID, .UI, [String]())
        let node = RemoteNode(aeTitle: peer.aeTitle, host: peer.host, port: peer.port)
        let contexts = DIMSEClient.contexts([SOPClass.studyRootFind, SOPClass.studyRootMove])
        let ownAE = aeTitle
        let studies = try await DIMSEClient.withAssociation(to: node, callingAE: ownAE, contexts: contexts) { association in
            var seen: Set<String> = []
            return try await association.find(query).compactMap { $0.string(.studyInstanceUID) }.filter { seen.insert($0).inserted }
        }
        var summary = ImportSummary(studies: studies.count)
        guard !studies.isEmpty else { return summary }
        let messageID = nextMoveID.wrappingAdd(1, ordering: .relaxed).newValue
        let key = "\(peer.aeTitle)|\(messageID)"
        imports.withLock { $0[key] = target }
        defer { _ = imports.withLock { $0.removeValue(forKey: key) } }
        try await DIMSEClient.withAssociation(to: node, callingAE: ownAE, contexts: contexts) { association in
            for study in studies {
                var identifier = DataSet()
                identifier.set(.queryRetrieveLevel, .CS, "STUDY")
                identifier.set(.studyInstanceUID, .UI, study)
                let (status, counts) = try await association.move(identifier, destination: ownAE, messageID: messageID)
                summary.completed += counts.completed
                summary.failed += counts.failed
                summary.warning += counts.warning
                if status != Status.success && status != Status.subOperationsFailed { summary.failedStudies.append(study) }
            }
        }
        return summary
    }

    /// How an incoming C-STORE is filed: as the import that asked for it says, else (nil) in
    /// the sending peer's name.
    func importTarget(of command: Command, from peer: DICOMPeer) -> StoreTarget? {
        // The standard names the AE that asked for the move (Hygie); some implementations
        // (pynetdicom) name themselves. The key is the association's peer and Hygie's own id.
        guard let originator = command.moveOriginatorAE, originator == aeTitle || originator == peer.aeTitle,
              let id = command.moveOriginatorMessageID
        else { return nil }
        return imports.withLock { $0["\(peer.aeTitle)|\(id)"] }
    }
}

public struct ImportSummary: Sendable, Codable, Equatable {
    public var studies: Int
    public var completed = 0
    public var failed = 0
    public var warning = 0
    public var failedStudies: [String] = []
}

/// Serialises an association's stores through its one batch.
actor AssociationStore {
    var batch: StoreBatch?
    init(_ batch: StoreBatch) { self.batch = batch }
    /// An association sends its C-STOREs one after the other, so no two calls overlap.
    func storeOne(_ bytes: [UInt8]) async -> StoreResult {
        // Moved out while it works so that its caches are not copied at every store (an
        // association of thousands of one-instance studies made each store copy them all).
        var current = batch.take()!
        let result = await current.storeOne(bytes)
        batch = current
        return result
    }
}

/// The studies an association stored into, rewritten as ImagingStudy once at its end.
final class StudiesTouched: Sendable {
    let studies = Mutex<[TenantID: Set<String>]>([:])

    func add(_ study: String, tenant: TenantID) { studies.withLock { _ = $0[tenant, default: []].insert(study) } }
    func take() -> [TenantID: Set<String>] { studies.withLock { current in defer { current = [:] }; return current } }
}

/// One association with a configured peer.
struct ArchiveSession: DIMSESession {
    let node: ArchiveNode
    let peer: DICOMPeer
    let caller: Caller
    let touched: StudiesTouched
    /// The association's own store batch: what it learns (study rows, patient matches, write
    /// permissions) serves every C-STORE of the association.
    let store: AssociationStore

    static let queryModels: [String: InformationModel] = [
        SOPClass.patientRootFind: .patientRoot, SOPClass.studyRootFind: .studyRoot,
        SOPClass.patientRootMove: .patientRoot, SOPClass.studyRootMove: .studyRoot,
    ]

    func transferSyntax(for context: ProposedContext) -> String? {
        if SOPClass.isStorage(context.abstractSyntax) { return TransferSyntaxes.forStorage(context.transferSyntaxes) }
        if context.abstractSyntax == SOPClass.verification || Self.queryModels[context.abstractSyntax] != nil {
            return TransferSyntaxes.forCommands(context.transferSyntaxes)
        }
        return nil
    }

    func handle(_ message: Message, on association: Association) async throws {
        let request = message.command
        switch request.field {
        case .echoRequest:
            try await respond(.echoResponse, to: message, status: Status.success, on: association)
        case .storeRequest:
            let (status, comment) = await store(message, association: association)
            try await respond(.storeResponse, to: message, status: status, comment: comment, on: association) {
                $0.affectedSOPInstance = request.affectedSOPInstance
            }
        case .findRequest:
            try await find(message, on: association)
        case .moveRequest:
            try await move(message, on: association)
        case .cancelRequest:
            return  // requests are answered whole before the next is read: nothing left to cancel
        default:
            var response = Command(.echoResponse, respondingTo: request.messageID, hasDataSet: false)
            response.setStatus(Status.unrecognisedOperation)
            try await association.send(Message(contextID: message.contextID, command: response))
        }
    }

    /// What the association owes (ImagingStudy rewrites, audit records) is durable in the index
    /// already, so it is handed to the archive's background finisher: the modality learns the
    /// association is over without waiting for thousands of one-instance studies to be rewritten.
    func end() async {
        for (tenant, studies) in touched.take() { await node.imaging.finishLater(studies, tenant: tenant) }
    }

    func respond(
        _ field: CommandField, to message: Message, status: UInt16, comment: String? = nil, dataSet: [UInt8]? = nil, on association: Association,
        _ adjust: (inout Command) -> Void = { _ in }
    ) async throws {
        var response = Command(field, respondingTo: message.command.messageID, hasDataSet: dataSet != nil)
        response.affectedSOPClass = message.command.affectedSOPClass ?? association.contexts[message.contextID]?.abstractSyntax
        response.setStatus(status)
        if let comment, status != Status.success, !Status.isPending(status) { response.errorComment = comment }
        adjust(&response)
        try await association.send(Message(contextID: message.contextID, command: response, dataSet: dataSet))
    }

    // MARK: C-STORE

    func store(_ message: Message, association: Association) async -> (UInt16, String?) {
        guard let data = message.dataSet, let context = association.contexts[message.contextID],
              let sopClass = message.command.affectedSOPClass, let sop = message.command.affectedSOPInstance
        else { return (FailedInstance.cannotUnderstand, "The C-STORE request names no SOP instance or carries no data set.") }
        let meta = DICOMFile.makeMeta(sopClass: sopClass, sopInstance: sop, syntax: context.transferSyntax, sourceAE: peer.aeTitle)
        let file = DICOMFile.part10(meta: meta, syntax: context.transferSyntax, body: data)
        let result: StoreResult
        var tenant = caller.tenant
        if var target = node.importTarget(of: message.command, from: peer) {
            target.deferred = true
            tenant = target.caller.tenant
            var batch = node.imaging.startBatch(target)
            result = await batch.storeOne(file)
        } else {
            result = await store.storeOne(file)
        }
        if let failure = result.failed.first { return (failure.reason, failure.message) }
        for stored in result.stored { touched.add(stored.study, tenant: tenant) }
        return (Status.success, nil)
    }

    // MARK: C-FIND

    func find(_ message: Message, on association: Association) async throws {
        guard let model = Self.queryModels[association.contexts[message.contextID]?.abstractSyntax ?? ""], let data = message.dataSet else {
            return try await respond(.findResponse, to: message, status: Status.sopClassNotSupported, on: association)
        }
        let answers: [DataSet]
        do {
            let syntax = association.contexts[message.contextID]!.transferSyntax
            answers = try await node.imaging.find(try DICOMFile.readDataSet(data, syntax: syntax), model: model, caller: caller, retrieveAE: node.aeTitle)
        } catch let error as ServiceError where error.status == 400 {
            return try await respond(.findResponse, to: message, status: Status.identifierDoesNotMatch, comment: error.message, on: association)
        } catch {
            node.logger.error("C-FIND failed", metadata: ["calling_ae": "\(peer.aeTitle)", "error": "\(String(reflecting: error))"])
            return try await respond(.findResponse, to: message, status: Status.unableToProcess, comment: "The query failed.", on: association)
        }
        for answer in answers {
            try await respond(.findResponse, to: message, status: Status.pending, dataSet: association.encode(answer, for: message), on: association)
        }
        try await respond(.findResponse, to: message, status: Status.success, on: association)
    }

    // MARK: C-MOVE

    /// Sends the selected instances to the destination peer over a new association, reporting
    /// progress after each (PS3.4 §C.4.2). Only instances both the requester and the
    /// destination's account may see are sent.
    func move(_ message: Message, on association: Association) async throws {
        guard let data = message.dataSet, let syntax = association.contexts[message.contextID]?.transferSyntax else {
            return try await respond(.moveResponse, to: message, status: Status.sopClassNotSupported, on: association)
        }
        guard let destinationAE = message.command.moveDestination, let destination = node.peer(destinationAE) else {
            return try await respond(
                .moveResponse, to: message, status: Status.moveDestinationUnknown,
                comment: "Move destination \(message.command.moveDestination ?? "") is not a configured peer.", on: association)
        }
        var locations: [InstanceLocation]
        do {
            let identifier = try DICOMFile.readDataSet(data, syntax: syntax)
            locations = try await node.imaging.instances(selectedBy: identifier, caller: caller)
            if destination.aeTitle != peer.aeTitle {
                guard let receiver = try await node.caller(of: destination, address: nil) else {
                    return try await respond(
                        .moveResponse, to: message, status: Status.moveDestinationUnknown,
                        comment: "Move destination \(destinationAE) has no active service account.", on: association)
                }
                let allowed = Set(try await node.imaging.instances(selectedBy: identifier, caller: receiver).map(\.sop))
                locations.removeAll { !allowed.contains($0.sop) }
            }
        } catch let error as ServiceError where error.status == 400 {
            return try await respond(.moveResponse, to: message, status: Status.identifierDoesNotMatch, comment: error.message, on: association)
        }
        var counts = SubOperations(remaining: locations.count)
        if !locations.isEmpty {
            let node = RemoteNode(aeTitle: destination.aeTitle, host: destination.host, port: destination.port)
            let contexts = DIMSEClient.storageContexts(locations.map { ($0.sopClass, $0.transferSyntax) })
            do {
                counts = try await DIMSEClient.withAssociation(to: node, callingAE: self.node.aeTitle, contexts: contexts) { outgoing in
                    var counts = SubOperations(remaining: locations.count)
                    try await self.node.imaging.eachFile(locations) { location, file in
                        let status = await send(location, file: file, over: outgoing, originator: (peer.aeTitle, message.command.messageID))
                        counts.remaining = (counts.remaining ?? 1) - 1
                        if status == Status.success {
                            counts.completed += 1
                        } else if status & 0xF000 == 0xB000 {
                            counts.warning += 1
                        } else {
                            counts.failed += 1
                        }
                        if counts.remaining! > 0 {
                            try await respond(.moveResponse, to: message, status: Status.pending, on: association) { $0.subOperations = counts }
                        }
                    }
                    return counts
                }
            } catch {
                self.node.logger.warning("C-MOVE destination unreachable", metadata: ["destination": "\(destinationAE)", "error": "\(error)"])
                counts.failed = locations.count - counts.completed - counts.warning
                counts.remaining = 0
                return try await respond(
                    .moveResponse, to: message, status: Status.outOfResourcesSubOperations,
                    comment: "Could not send to \(destinationAE).", on: association) { $0.subOperations = counts }
            }
        }
        counts.remaining = nil
        let status = counts.failed > 0 || counts.warning > 0 ? Status.subOperationsFailed : Status.success
        try await respond(.moveResponse, to: message, status: status, on: association) { $0.subOperations = counts }
    }

    /// One C-STORE sub-operation: the stored file sent as it is when its syntax was accepted,
    /// else re-encoded in an accepted uncompressed syntax (native files only).
    func send(_ location: InstanceLocation, file: Result<[UInt8], any Error>, over association: Association, originator: (String, UInt16)) async -> UInt16 {
        do {
            let bytes = try file.get()
            let (_, syntax, offset) = try DICOMFile.splitMeta(bytes)
            if association.context(for: location.sopClass, syntaxes: [syntax.uid]) != nil {
                return try await association.store(
                    dataSet: Array(bytes[offset...]), sopClass: location.sopClass, sopInstance: location.sop, syntax: syntax.uid,
                    moveOriginator: originator).status
            }
            guard !syntax.isEncapsulated, let context = association.context(for: location.sopClass, syntaxes: Set(TransferSyntaxes.uncompressed)) else {
                return Status.unableToProcess
            }
            let file = try DICOMFile.read(bytes)
            var writer = DataSetWriter(explicitVR: context.transferSyntax.isExplicitVR)
            writer.write(file.dataSet)
            return try await association.store(
                dataSet: writer.bytes, sopClass: location.sopClass, sopInstance: location.sop, syntax: context.transferSyntax.uid,
                moveOriginator: originator).status
        } catch {
            node.logger.warning("C-STORE sub-operation failed", metadata: ["sop": "\(location.sop)", "error": "\(error)"])
            return Status.unableToProcess
        }
    }
}
