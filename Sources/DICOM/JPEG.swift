import CJPEG
import Foundation

/// Baseline JPEG encoder (ISO/IEC 10918-1) for rendered images, through the system libjpeg.
public enum JPEG {
    /// `quality` 1…100 (PS3.18 §8.3.5.1.3 `quality`); 90 when not asked.
    public static func encode(_ image: RenderedImage, quality: Int = 90) throws -> [UInt8] {
        guard image.width > 0, image.height > 0, image.channels == 1 || image.channels == 3,
              image.pixels.count >= image.width * image.height * image.channels
        else { throw DICOMError.cannotDecodePixels("the rendered image has no pixels to encode") }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            hygie_jpeg_encode(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                              Int32(max(1, min(100, quality))), &output, &size)
        }
        guard status == 0, let output else { throw DICOMError.cannotDecodePixels("the JPEG encoder failed") }
        defer { free(output) }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}

/// The formats a rendered frame is served in.
public enum RenderedFormat: Sendable, Equatable {
    case png
    case jpeg(quality: Int)

    public var mediaType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        }
    }

    public func encode(_ image: RenderedImage) throws -> [UInt8] {
        switch self {
        case .png: PNG.encode(image)
        case .jpeg(let quality): try JPEG.encode(image, quality: quality)
        }
    }
}
