import ArgumentParser
import Core
import DICOM
import DIMSE
import Foundation

/// `hygie pacs`: talk to a configured DICOM peer as a requester.
struct PACS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pacs", abstract: "Talk to a configured DICOM peer (echo, import).", subcommands: [Echo.self, Import.self])

    struct Echo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "C-ECHO a configured peer.")
        @OptionGroup var dicom: DICOMOptions
        @Option(help: "AE title of the peer.") var peer: String

        func run() async throws {
            let (node, own) = try resolve(dicom, peer)
            let status = try await DIMSEClient.withAssociation(to: node, callingAE: own, contexts: DIMSEClient.contexts([SOPClass.verification])) {
                try await $0.echo()
            }
            print("C-ECHO \(node.aeTitle): status \(Status.hex(status))")
            if status != Status.success { throw ExitCode.failure }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull a patient's studies from a peer into the running Hygie.",
            discussion: """
                Finds the patient's studies on the peer (C-FIND) and asks it to send each to Hygie's \
                own AE title (C-MOVE); the running server receives them and files them with the \
                peer's service account's rights. To file them in a person's name, under a chosen \
                patient, use POST /api/v1/imaging/import instead.
                """)
        @OptionGroup var dicom: DICOMOptions
        @Option(help: "AE title of the peer to import from.") var peer: String
        @Option(name: .customLong("patient-id"), help: "PatientID (0010,0020) on the peer.") var patientID: String

        func run() async throws {
            let (node, own) = try resolve(dicom, peer)
            let contexts = DIMSEClient.contexts([SOPClass.studyRootFind, SOPClass.studyRootMove])
            let (studies, completed, failed) = try await DIMSEClient.withAssociation(to: node, callingAE: own, contexts: contexts) { association in
                var query = DataSet()
                query.set(.queryRetrieveLevel, .CS, "STUDY")
                query.set(.patientID, .LO, patientID)
                query.set(.studyInstanceUID, .UI, [String]())
                var seen: Set<String> = []
                let studies = try await association.find(query).compactMap { $0.string(.studyInstanceUID) }.filter { seen.insert($0).inserted }
                var completed = 0
                var failed = 0
                for study in studies {
                    var identifier = DataSet()
                    identifier.set(.queryRetrieveLevel, .CS, "STUDY")
                    identifier.set(.studyInstanceUID, .UI, study)
                    let (status, counts) = try await association.move(identifier, destination: own)
                    completed += counts.completed
                    failed += counts.failed
                    print("study \(study): status \(Status.hex(status)), \(counts.completed) sent, \(counts.failed) failed")
                }
                return (studies.count, completed, failed)
            }
            print("\(studies) studies, \(completed) instances received, \(failed) failed")
            if failed > 0 { throw ExitCode.failure }
        }
    }
}

/// The peer named on the command line, and Hygie's own AE title.
private func resolve(_ options: DICOMOptions, _ title: String) throws -> (RemoteNode, String) {
    var configuration = HygieConfiguration()
    try options.apply(to: &configuration)
    guard let peer = configuration.dicomPeers.first(where: { $0.aeTitle == title }) else {
        throw ValidationError("No DICOM peer \"\(title)\" in the peers file (--dicom-peers).")
    }
    return (RemoteNode(aeTitle: peer.aeTitle, host: peer.host, port: peer.port), configuration.dicomAETitle)
}
