import Core
import Crypto
import DICOM
import FHIRStore
import Foundation

/// An anonymised copy of images, to attach to a message or a comment.
public struct AnonymizedExport: Sendable {
    public var filename: String
    public var mediaType: String
    public var bytes: [UInt8]
}

extension ImagingService {
    /// An instance (as application/dicom) or a series (as a ZIP of instances) de-identified with
    /// the PS3.15 basic profile. UIDs are replaced consistently within the export only; the
    /// export is audited ("Export") with the patient it came from.
    public func anonymizedExport(study: String, series: String, sop: String? = nil, caller: Caller) async throws -> AnonymizedExport {
        let located = try await locate(study: study, series: series, sop: sop, caller: caller)
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let anonymizer = Anonymizer(uidBytes: { uid in
            Array(Array(HMAC<SHA256>.authenticationCode(for: Array(uid.utf8), using: SymmetricKey(data: secret))).prefix(16))
        })
        var files: [[UInt8]] = []
        for location in located {
            let file = try await parsed(location)
            let cleaned = anonymizer.anonymize(file.dataSet)
            var syntax = file.transferSyntax
            if syntax.isBigEndian { syntax = .explicitVRLittleEndian }
            files.append(DICOMFile(meta: DICOMFile.makeMeta(for: cleaned, syntax: syntax), dataSet: cleaned, transferSyntax: syntax).serialized())
        }
        if let agent = caller.agent {
            try await fhir.record(
                AuditRecord(agent: agent, kind: .dicom(.export), action: .read, entities: ["\(Self.resourceType)/\(study)"],
                            patients: located[0].patient.map { [$0] } ?? [], detail: "\(files.count) instance(s), anonymised"),
                tenant: caller.tenant)
        }
        if sop != nil, let only = files.first {
            return AnonymizedExport(filename: "anonymized.dcm", mediaType: "application/dicom", bytes: only)
        }
        var zip = ZipWriter()
        for (index, file) in files.enumerated() { zip.add(name: String(format: "IMG%05d.dcm", index + 1), contents: file) }
        return AnonymizedExport(filename: "anonymized-series.zip", mediaType: "application/zip", bytes: zip.finished())
    }
}
