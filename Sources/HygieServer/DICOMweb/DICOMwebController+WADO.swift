import Core
import DICOM
import FHIRStore
import Foundation
import HTTPTypes
import Hummingbird
import Imaging
import NIOCore

extension DICOMwebController {
    /// The transfer syntax an Accept header asks for: nil means "as stored" (absent or `*`).
    static func requestedSyntax(_ accept: String?) -> String? {
        guard let accept else { return nil }
        for range in accept.split(separator: ",") {
            for parameter in range.split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " \"")) }
                if pair.count == 2, pair[0].lowercased() == "transfer-syntax" { return pair[1] == "*" ? nil : pair[1] }
            }
        }
        return nil
    }

    /// Whether the client accepts `type` (or anything).
    static func accepts(_ accept: String?, _ type: String) -> Bool {
        guard let accept, !accept.isEmpty else { return true }
        return accept.lowercased().contains(type) || accept.contains("*/*")
    }

    /// WADO-RS retrieve of a study, series or instance (PS3.18 §10.4): multipart/related of
    /// application/dicom parts streamed one instance at a time, in the stored transfer syntax
    /// (or Explicit VR Little Endian re-encoded from another native syntax when asked).
    func retrieve(_ request: Request, study: String, series: String? = nil, sop: String? = nil, caller: Caller) async throws -> Response {
        let accept = request.headers[.accept]
        guard Self.accepts(accept, "application/dicom") || Self.accepts(accept, "multipart/related") else {
            throw ServiceError(406, "not-acceptable", "Instances are served as multipart/related; type=\"application/dicom\".")
        }
        let wanted = Self.requestedSyntax(accept)
        let located = try await imaging.locate(study: study, series: series, sop: sop, caller: caller)
        if let wanted {
            for location in located where location.transferSyntax != wanted {
                let stored = TransferSyntax(uid: location.transferSyntax)
                guard wanted == TransferSyntax.explicitVRLittleEndian.uid, !stored.isEncapsulated else {
                    throw ServiceError(406, "not-acceptable", "Instance \(location.sop) is stored as \(location.transferSyntax) and cannot be served as \(wanted).")
                }
            }
        }
        let boundary = "hygie-" + UUID().uuidString
        let imaging = self.imaging
        let body = ResponseBody { writer in
            try await imaging.eachFile(located) { location, file in
                var bytes = try file.get()
                var syntax = location.transferSyntax
                if let wanted, wanted != syntax {
                    var file = try DICOMFile.read(bytes)
                    file.transferSyntax = .explicitVRLittleEndian
                    file.meta.set(.transferSyntaxUID, .UI, wanted)
                    bytes = file.serialized()
                    syntax = wanted
                }
                let header = "\r\n--\(boundary)\r\nContent-Type: application/dicom; transfer-syntax=\(syntax)\r\nContent-Length: \(bytes.count)\r\n\r\n"
                try await writer.write(ByteBuffer(string: header))
                try await writer.write(ByteBuffer(bytes: bytes))
            }
            try await writer.write(ByteBuffer(string: "\r\n--\(boundary)--\r\n"))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "multipart/related; type=\"application/dicom\"; boundary=\(boundary)", .cacheControl: "no-store"],
            body: body)
    }

    /// Frames (PS3.18 §10.4.1.1.3): multipart/related of application/octet-stream parts,
    /// native frames uncompressed, compressed ones as stored (`transfer-syntax=*`).
    func frames(_ request: Request, study: String, series: String, sop: String, list: String, caller: Caller) async throws -> Response {
        let numbers = try list.split(separator: ",").map { text -> Int in
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)), number >= 1 else {
                throw ServiceError.invalid("\"\(text)\" is not a frame number (frames count from 1).")
            }
            return number
        }
        guard !numbers.isEmpty, numbers.count <= 10_000 else { throw ServiceError.invalid("Name between 1 and 10000 frames.") }
        guard let location = try await imaging.locate(study: study, series: series, sop: sop, caller: caller).first else {
            throw ServiceError.notFound("Instance \(sop)")
        }
        guard let highest = numbers.max(), highest <= location.frames else {
            throw ServiceError.notFound("Frame \(numbers.max() ?? 0) of instance \(sop) (it has \(location.frames))")
        }
        let syntax = TransferSyntax(uid: location.transferSyntax)
        let asStored = syntax.isEncapsulated && Self.requestedSyntax(request.headers[.accept]) == nil
        guard asStored || syntax.canDecodePixels else {
            throw ServiceError(406, "not-acceptable", "Frames of \(syntax.uid) can only be served as stored (transfer-syntax=*).")
        }
        let type = "application/octet-stream; transfer-syntax=\(asStored ? syntax.uid : TransferSyntax.explicitVRLittleEndian.uid)"
        let frames = try await imaging.frames(location, numbers: numbers, asStored: asStored, tenant: caller.tenant)
        return multipart(frames.map { (type, $0) }, type: "application/octet-stream")
    }

    /// Parts (frames, bulk data) streamed as they are, each written once: not gathered into one
    /// buffer first. Clients read a streamed answer in the pieces it comes in; python-requests
    /// takes 1.5 ms for a 512 KB frame sent this way against 1.9 ms with a Content-Length, which
    /// it reads 10 KB at a time (Benchmarks/client_floor.py's null server, both ways).
    func multipart(_ parts: [(type: String, bytes: [UInt8])], type: String) -> Response {
        let boundary = "hygie-" + UUID().uuidString
        let body = ResponseBody { writer in
            for part in parts {
                try await writer.write(ByteBuffer(string: "\r\n--\(boundary)\r\nContent-Type: \(part.type)\r\nContent-Length: \(part.bytes.count)\r\n\r\n"))
                try await writer.write(ByteBuffer(bytes: part.bytes))
            }
            try await writer.write(ByteBuffer(string: "\r\n--\(boundary)--\r\n"))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "multipart/related; type=\"\(type)\"; boundary=\(boundary)", .cacheControl: "no-store"],
            body: body)
    }

    /// Bulk data of a top-level attribute (PS3.18 §10.4.1.1.5), as the BulkDataURIs of the
    /// metadata name them.
    func bulkdata(study: String, series: String, sop: String, tag text: String, caller: Caller) async throws -> Response {
        guard let tag = Tag(hex: text), text.count == 8 else { throw ServiceError.invalid("\"\(text)\" is not a tag.") }
        guard let location = try await imaging.locate(study: study, series: series, sop: sop, caller: caller).first else {
            throw ServiceError.notFound("Instance \(sop)")
        }
        let file = try await imaging.parsed(location)
        guard let element = file.dataSet[tag] else { throw ServiceError.notFound("Attribute \(tag) of instance \(sop)") }
        switch element.value {
        case .bytes(let bytes):
            return multipart([("application/octet-stream", bytes)], type: "application/octet-stream")
        case .fragments:
            let parts = try (0..<location.frames).map {
                ("application/octet-stream; transfer-syntax=\(file.transferSyntax.uid)", try PixelData.storedFrame(file.dataSet, syntax: file.transferSyntax, index: $0))
            }
            return multipart(parts, type: "application/octet-stream")
        case .sequence:
            throw ServiceError.notFound("Bulk data of sequence \(tag)")
        }
    }

    /// Rendered images and thumbnails (PS3.18 §10.4.1.1.4, §10.4.1.1.6) as JPEG (the default
    /// media type) or PNG, with `window` (center,width[,function]), `viewport` (width,height)
    /// and `quality` (JPEG, 1…100); a study or series renders its first instance.
    func rendered(
        _ request: Request, query: [(String, String)], study: String, series: String?, sop: String?, frame: Int?, thumbnail: Bool, caller: Caller
    ) async throws -> Response {
        let format = try Self.renderedFormat(accept: request.headers[.accept], quality: query.last(where: { $0.0 == "quality" })?.1)
        var options = Renderer.Options()
        if let window = query.last(where: { $0.0 == "window" })?.1 {
            let values = window.split(separator: ",").compactMap { Double($0) }
            guard values.count >= 2, values[1] > 0 else { throw ServiceError.invalid("window is center,width[,function].") }
            options.window = (values[0], values[1])
        }
        if let viewport = query.last(where: { $0.0 == "viewport" })?.1 {
            let values = viewport.split(separator: ",").compactMap { Int($0) }
            guard values.count >= 2, values[0] > 0, values[1] > 0, values[0] <= 4096, values[1] <= 4096 else {
                throw ServiceError.invalid("viewport is width,height (at most 4096).")
            }
            options.viewport = (values[0], values[1])
        } else if thumbnail {
            options.viewport = (128, 128)
        }
        let located = try await imaging.locate(study: study, series: series, sop: sop, caller: caller)
        let location = located.first(where: { $0.frames >= 1 && TransferSyntax(uid: $0.transferSyntax).canDecodePixels }) ?? located[0]
        let index = (frame ?? 1) - 1
        guard index >= 0, index < location.frames else { throw ServiceError.notFound("Frame \(index + 1) of instance \(location.sop)") }
        let image: [UInt8]
        do {
            image = try await imaging.rendered(location, frame: index, options: options, format: format, tenant: caller.tenant)
        } catch let error as DICOMError {
            throw ServiceError(406, "cannot-render", error.description)
        }
        return Response(
            status: .ok, headers: [.contentType: format.mediaType, .cacheControl: "private, max-age=300"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: image)))
    }

    /// JPEG unless the client asks for PNG and not JPEG (PS3.18 §8.3.5.1.1: image/jpeg is the
    /// default rendered media type for single frames); 406 for neither.
    static func renderedFormat(accept: String?, quality: String?) throws -> RenderedFormat {
        var level = 90
        if let quality {
            guard let value = Int(quality), (1...100).contains(value) else { throw ServiceError.invalid("quality is a whole number from 1 to 100.") }
            level = value
        }
        let lowered = accept?.lowercased() ?? ""
        if lowered.contains("image/png") && !lowered.contains("image/jpeg") { return .png }
        guard accepts(accept, "image/jpeg") || lowered.contains("image/*") else {
            throw ServiceError(406, "not-acceptable", "Rendered images are served as image/jpeg or image/png.")
        }
        return .jpeg(quality: level)
    }

    /// WADO-URI (PS3.18 §9): `requestType=WADO&studyUID&seriesUID&objectUID`, the instance as
    /// application/dicom (default) or rendered as image/jpeg (`imageQuality`) or image/png.
    func wadoURI(_ query: [(String, String)], caller: Caller) async throws -> Response {
        func value(_ name: String) -> String? { query.last { $0.0 == name }?.1 }
        guard value("requestType") == "WADO", let study = value("studyUID"), let series = value("seriesUID"), let sop = value("objectUID") else {
            throw ServiceError.invalid("WADO-URI needs requestType=WADO, studyUID, seriesUID and objectUID.")
        }
        guard let location = try await imaging.locate(study: study, series: series, sop: sop, caller: caller).first else {
            throw ServiceError.notFound("Instance \(sop)")
        }
        let contentType = value("contentType") ?? "application/dicom"
        if contentType == "image/jpeg" || contentType == "image/png" {
            let format = contentType == "image/png" ? RenderedFormat.png : try Self.renderedFormat(accept: "image/jpeg", quality: value("imageQuality"))
            let image = try await imaging.rendered(
                location, frame: max(0, (Int(value("frameNumber") ?? "1") ?? 1) - 1), options: Renderer.Options(), format: format, tenant: caller.tenant)
            return Response(status: .ok, headers: [.contentType: format.mediaType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: image)))
        }
        guard contentType == "application/dicom" else {
            throw ServiceError(406, "not-acceptable", "contentType must be application/dicom, image/jpeg or image/png.")
        }
        let file = ByteBuffer(bytes: try await imaging.file(location))
        // Streamed like the multipart answers (see `multipart`).
        let body = ResponseBody { writer in
            try await writer.write(file)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/dicom", .cacheControl: "no-store"], body: body)
    }
}
