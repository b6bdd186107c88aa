import Core
import DICOM
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Imaging
import NIOCore

extension DICOMwebController {
    /// STOW-RS (PS3.18 §10.5): reads the multipart/related body part by part, stores each
    /// application/dicom part as it completes, and answers with the per-instance outcome:
    /// 200 all stored, 202 some failed, 409 none stored.
    func stow(_ request: Request, context: AppRequestContext, study: String?, caller: Caller, base: String) async throws -> Response {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("multipart/related"), let boundary = MultipartRelatedReader.boundary(contentType) else {
            throw ServiceError(415, "unsupported-media-type", "STOW-RS takes multipart/related; type=\"application/dicom\" with a boundary.")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maximumUploadSize {
            throw ServiceError(413, "too-large", "The upload is larger than \(maximumUploadSize) bytes.")
        }
        // A part may hold one instance and its headers; a longer one is skipped and reported.
        let partLimit = imaging.maximumInstanceSize + 65_536
        var reader = MultipartRelatedReader(boundary: boundary, maximumPartLength: partLimit)
        var batch = imaging.startBatch(StoreTarget(caller: caller, study: study))
        var received = 0
        var failures: [FailedInstance] = []
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                guard received <= maximumUploadSize else { throw ServiceError(413, "too-large", "The upload is larger than \(maximumUploadSize) bytes.") }
                for part in try reader.feed(chunk.readableBytesView) {
                    guard !part.oversized else {
                        failures.append(FailedInstance(sopClass: nil, sopInstance: nil, reason: FailedInstance.outOfResources,
                                                       message: "A part is larger than \(partLimit) bytes: the instance in it was not read."))
                        continue
                    }
                    let type = part.headers["content-type"]?.lowercased() ?? "application/dicom"
                    guard type.hasPrefix("application/dicom"), !type.hasPrefix("application/dicom+") else {
                        failures.append(FailedInstance(sopClass: nil, sopInstance: nil, reason: FailedInstance.cannotUnderstand,
                                                       message: "Parts of type \(type) are not stored: send application/dicom."))
                        continue
                    }
                    await batch.add(part.body)
                }
            }
        } catch let error as MultipartError {
            _ = await batch.commit()
            throw ServiceError.invalid("The multipart body is malformed (\(error)).")
        }
        var result = await batch.commit()
        result.failed += failures
        if result.stored.isEmpty && result.failed.isEmpty {
            throw ServiceError.invalid("The request holds no DICOM instance.")
        }
        var out = DataSet()
        out.characterSet = .utf8
        if let first = result.stored.first?.study ?? study { out.set(.retrieveURL, .UR, "\(base)/studies/\(first)") }
        out.set(.referencedSOPSequence, sequence: result.stored.map { stored in
            var item = DataSet()
            item.set(.referencedSOPClassUID, .UI, stored.sopClass)
            item.set(.referencedSOPInstanceUID, .UI, stored.sopInstance)
            item.set(.retrieveURL, .UR, "\(base)/studies/\(stored.study)/series/\(stored.series)/instances/\(stored.sopInstance)")
            return item
        })
        if !result.failed.isEmpty {
            out.set(.failedSOPSequence, sequence: result.failed.map { failed in
                var item = DataSet()
                item.characterSet = .utf8
                item.set(.referencedSOPClassUID, .UI, failed.sopClass ?? "")
                item.set(.referencedSOPInstanceUID, .UI, failed.sopInstance ?? "")
                item.set(.failureReason, .US, integers: [Int(failed.reason)])
                // The reason in words, in the attribute PS3.18 §10.5.3 gives for warnings and errors.
                item.set(Tag(0x0009, 0x0010), .LO, "HYGIE")
                item.set(Tag(0x0009, 0x1001), .LT, failed.message)
                return item
            })
        }
        let status: HTTPResponse.Status = result.failed.isEmpty ? .ok : result.stored.isEmpty ? .conflict : .accepted
        return Response(
            status: status, headers: [.contentType: "application/dicom+json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: DICOMJSON.encode(out))))
    }
}
