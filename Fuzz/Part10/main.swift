import DICOM
import Foundation
import FuzzSupport

/// What Hygie does with a file it is sent (STOW-RS, C-STORE, the upload page), from bytes
/// nobody vouches for: read it (PS3.10), write its DICOM JSON (PS3.18 §F) and read that back,
/// write it as a Part 10 file again and read that back, take its first frame as stored and
/// decoded, render it (PNG, JPEG) and de-identify it (PS3.15 Annex E).
///
/// Rules: reading ends in a file or a `DICOMError`, never a crash; what Hygie writes of a file
/// it read, it reads back; rendering and frames end in a value or an error.
fuzzMain { bytes in
    let file: DICOMFile
    do {
        file = try DICOMFile.read(bytes)
    } catch is DICOMError {
        return
    } catch {
        preconditionFailure("reading threw \(type(of: error)), not a DICOMError: \(error)")
    }
    let json = DICOMJSON.encode(file.dataSet, bulkData: { path, _ in path.count == 1 ? "bulk/\(path[0].hex)" : nil })
    do {
        _ = try DICOMJSON.decode(Data(json), skippingBulkData: true)
    } catch {
        preconditionFailure("the DICOM JSON written for a file read does not read back: \(error)")
    }
    let rewritten = DICOMFile(meta: DICOMFile.makeMeta(for: file.dataSet, syntax: file.transferSyntax), dataSet: file.dataSet,
                              transferSyntax: file.transferSyntax).serialized()
    do {
        _ = try DICOMFile.read(rewritten)
    } catch {
        preconditionFailure("the Part 10 file written for a file read does not read back: \(error)")
    }
    _ = try? PixelData.storedFrame(file.dataSet, syntax: file.transferSyntax, index: 0)
    _ = try? PixelData.nativeFrame(file.dataSet, syntax: file.transferSyntax, index: 0)
    if let image = try? Renderer.render(file.dataSet, syntax: file.transferSyntax, frame: 0, options: .init(viewport: (64, 64))) {
        _ = PNG.encode(image)
        _ = try? JPEG.encode(image)
    }
    _ = Anonymizer(uidBytes: { Array($0.utf8.prefix(16)) + Array(repeating: 0, count: max(0, 16 - $0.utf8.count)) }).anonymize(file.dataSet)
}
