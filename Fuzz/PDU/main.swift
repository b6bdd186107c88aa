import DICOM
import DIMSE
import FuzzSupport
import NIOCore
import NIOEmbedded

/// What Hygie's DICOM listener does with the bytes a peer sends, before it knows the peer and
/// during an association: split them into PDUs with the listener's own decoder (PS3.8 §9.3),
/// read each PDU, then the command set of each command fragment (PS3.7 §E.1) and each data
/// set fragment in the little endian syntaxes an association may carry.
///
/// Rule: whatever arrives ends in PDUs or an error that closes the connection, never a crash.
fuzzMain { bytes in
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(PDUDecoder(maximumLength: Int(DIMSE.maximumPDULength))))
    defer { _ = try? channel.finish() }
    do {
        try channel.writeInbound(ByteBuffer(bytes: bytes))
    } catch {
        return
    }
    while let pdu = try? channel.readInbound(as: PDU.self) {
        guard case .data(let values) = pdu else { continue }
        for value in values {
            let fragment = Array(value.data.readableBytesView)
            if value.isCommand {
                _ = try? Command.decode(fragment)
            } else {
                _ = try? DICOMFile.readDataSet(fragment, syntax: .implicitVRLittleEndian)
                _ = try? DICOMFile.readDataSet(fragment, syntax: .explicitVRLittleEndian)
            }
        }
    }
}
