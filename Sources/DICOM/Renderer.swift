/// An 8-bit image ready for display: one (gray) or three (RGB) channels, row by row.
public struct RenderedImage: Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let pixels: [UInt8]
}

/// Renders a frame for display (PS3.18 §8.3.5 rendered resources; the grayscale pipeline of
/// PS3.4 §N.2): modality LUT (rescale slope/intercept), VOI (window centre/width or VOI LUT,
/// else the frame's range), then MONOCHROME1 inversion; colour images are converted to RGB.
public enum Renderer {
    public struct Options: Sendable {
        public var window: (center: Double, width: Double)?
        public var viewport: (width: Int, height: Int)?
        public init(window: (center: Double, width: Double)? = nil, viewport: (width: Int, height: Int)? = nil) {
            self.window = window
            self.viewport = viewport
        }
    }

    public static func render(_ dataSet: DataSet, syntax: TransferSyntax, frame: Int, options: Options = Options()) throws -> RenderedImage {
        let module = try PixelModule(dataSet)
        let bytes = try PixelData.nativeFrame(dataSet, syntax: syntax, index: frame)
        let planar = syntax == .rleLossless ? 0 : module.planarConfiguration
        let image: RenderedImage
        if module.samplesPerPixel == 1 && module.photometricInterpretation != "PALETTE COLOR" {
            image = renderGray(bytes, dataSet: dataSet, module: module, window: options.window)
        } else if module.photometricInterpretation == "PALETTE COLOR" {
            image = try renderPalette(bytes, dataSet: dataSet, module: module)
        } else {
            image = renderColor(bytes, module: module, planar: planar)
        }
        guard let viewport = options.viewport else { return image }
        return scale(image, toFit: viewport)
    }

    static func sample(_ bytes: [UInt8], _ index: Int, module: PixelModule) -> Int {
        switch module.bitsAllocated {
        case 8: return Int(bytes[index])
        case 16: return Int(UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8)
        default: return Int(bytes.loadLE(UInt32.self, at: 4 * index))
        }
    }

    static func renderGray(_ bytes: [UInt8], dataSet: DataSet, module: PixelModule, window: (center: Double, width: Double)?) -> RenderedImage {
        let count = module.rows * module.columns
        let mask = module.bitsStored >= 64 ? Int.max : (1 << module.bitsStored) - 1
        let signBit = 1 << (module.bitsStored - 1)
        let signed = module.pixelRepresentation == 1
        let slope = dataSet.double(.rescaleSlope) ?? 1
        let intercept = dataSet.double(.rescaleIntercept) ?? 0
        var values = [Double](repeating: 0, count: count)
        var low = Double.greatestFiniteMagnitude
        var high = -Double.greatestFiniteMagnitude
        let available = bytes.count / module.bytesPerSample
        for index in 0..<min(count, available) {
            var raw = sample(bytes, index, module: module) & mask
            if signed && raw & signBit != 0 { raw -= mask + 1 }
            let value = Double(raw) * slope + intercept
            values[index] = value
            if value < low { low = value }
            if value > high { high = value }
        }
        var output = [UInt8](repeating: 0, count: count)
        let lut = window == nil ? voiLUT(dataSet) : nil
        if let lut {
            let top = Double((1 << lut.bits) - 1)
            for index in 0..<count {
                let position = min(max(Int(values[index]) - lut.first, 0), lut.data.count - 1)
                output[index] = UInt8(clamping: Int(Double(lut.data[position]) / top * 255 + 0.5))
            }
        } else {
            var center: Double
            var width: Double
            if let window { (center, width) = window }
            else if let c = dataSet.double(.windowCenter), let w = dataSet.double(.windowWidth), w >= 1 { (center, width) = (c, w) }
            else { (center, width) = ((low + high) / 2, max(high - low, 1)) }
            width = max(width, 1)
            // Linear VOI function, PS3.3 §C.11.2.1.2.1.
            let bottom = center - 0.5 - (width - 1) / 2
            let scale = 255 / (width - 1 == 0 ? 1 : width - 1)
            for index in 0..<count {
                let value = (values[index] - bottom) * scale
                output[index] = UInt8(clamping: Int(max(0, min(255, value)).rounded()))
            }
        }
        if module.photometricInterpretation == "MONOCHROME1" {
            for index in 0..<count { output[index] = 255 - output[index] }
        }
        return RenderedImage(width: module.columns, height: module.rows, channels: 1, pixels: output)
    }

    /// The first VOI LUT of the VOI LUT Sequence (PS3.3 §C.11.2), when present.
    static func voiLUT(_ dataSet: DataSet) -> (first: Int, bits: Int, data: [Int])? {
        guard let item = dataSet.sequence(.voiLUTSequence).first else { return nil }
        let descriptor = item.integers(.lutDescriptor)
        guard descriptor.count == 3, let element = item[.lutData] else { return nil }
        let bits = descriptor[2]
        let bytes = element.bytes
        let data: [Int] = bits > 8 || element.vr == .OW || element.vr == .US
            ? stride(from: 0, to: bytes.count - 1, by: 2).map { Int(UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8) }
            : bytes.map(Int.init)
        guard !data.isEmpty, bits > 0, bits <= 16 else { return nil }
        return (descriptor[1] > 32767 ? descriptor[1] - 65536 : descriptor[1], bits, data)
    }

    static func renderColor(_ bytes: [UInt8], module: PixelModule, planar: Int) -> RenderedImage {
        let count = module.rows * module.columns
        var output = [UInt8](repeating: 0, count: count * 3)
        let shift = max(0, module.bitsStored - 8)
        let isYBR = module.photometricInterpretation.hasPrefix("YBR_FULL")
        let available = bytes.count / module.bytesPerSample
        for pixel in 0..<count {
            var rgb = [0, 0, 0]
            for channel in 0..<3 {
                let index = planar == 1 ? channel * count + pixel : pixel * 3 + channel
                rgb[channel] = index < available ? sample(bytes, index, module: module) >> shift : 0
            }
            if isYBR {
                // YBR_FULL to RGB, PS3.3 §C.7.6.3.1.2.
                let y = Double(rgb[0]), cb = Double(rgb[1]) - 128, cr = Double(rgb[2]) - 128
                rgb = [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb].map { Int($0.rounded()) }
            }
            for channel in 0..<3 { output[pixel * 3 + channel] = UInt8(clamping: rgb[channel]) }
        }
        return RenderedImage(width: module.columns, height: module.rows, channels: 3, pixels: output)
    }

    /// PALETTE COLOR: each stored value indexes the red, green and blue LUTs (PS3.3 §C.7.6.3.1.5).
    static func renderPalette(_ bytes: [UInt8], dataSet: DataSet, module: PixelModule) throws -> RenderedImage {
        let descriptor = dataSet.integers(.redPaletteLUTDescriptor)
        guard descriptor.count == 3 else { throw DICOMError.missingAttribute(.redPaletteLUTDescriptor) }
        let tables = [Tag.redPaletteLUTData, .greenPaletteLUTData, .bluePaletteLUTData].map { tag -> [Int] in
            let data = dataSet[tag]?.bytes ?? []
            return descriptor[2] == 8 && data.count == max(descriptor[0], 1) ? data.map(Int.init)
                : stride(from: 0, to: data.count - 1, by: 2).map { Int(UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8) >> (descriptor[2] > 8 ? 8 : 0) }
        }
        guard tables.allSatisfy({ !$0.isEmpty }) else { throw DICOMError.missingAttribute(.redPaletteLUTData) }
        let first = descriptor[1]
        let count = module.rows * module.columns
        var output = [UInt8](repeating: 0, count: count * 3)
        for pixel in 0..<min(count, bytes.count / module.bytesPerSample) {
            let value = sample(bytes, pixel, module: module) - first
            for channel in 0..<3 {
                let table = tables[channel]
                output[pixel * 3 + channel] = UInt8(clamping: table[min(max(value, 0), table.count - 1)])
            }
        }
        return RenderedImage(width: module.columns, height: module.rows, channels: 3, pixels: output)
    }

    /// Scales to fit inside the viewport, keeping the aspect ratio (area average when shrinking).
    public static func scale(_ image: RenderedImage, toFit viewport: (width: Int, height: Int)) -> RenderedImage {
        let ratio = min(Double(viewport.width) / Double(image.width), Double(viewport.height) / Double(image.height))
        let width = max(1, Int((Double(image.width) * ratio).rounded()))
        let height = max(1, Int((Double(image.height) * ratio).rounded()))
        if width == image.width && height == image.height { return image }
        var output = [UInt8](repeating: 0, count: width * height * image.channels)
        let stepX = Double(image.width) / Double(width)
        let stepY = Double(image.height) / Double(height)
        for y in 0..<height {
            let y0 = Int(Double(y) * stepY)
            let y1 = max(y0 + 1, min(image.height, Int(Double(y + 1) * stepY)))
            for x in 0..<width {
                let x0 = Int(Double(x) * stepX)
                let x1 = max(x0 + 1, min(image.width, Int(Double(x + 1) * stepX)))
                for channel in 0..<image.channels {
                    var sum = 0
                    for sy in y0..<y1 {
                        for sx in x0..<x1 { sum += Int(image.pixels[(sy * image.width + sx) * image.channels + channel]) }
                    }
                    output[(y * width + x) * image.channels + channel] = UInt8(sum / ((y1 - y0) * (x1 - x0)))
                }
            }
        }
        return RenderedImage(width: width, height: height, channels: image.channels, pixels: output)
    }
}

/// PNG encoder (ISO/IEC 15948): IHDR, one IDAT of zlib-deflated scanlines with the Sub filter,
/// IEND.
public enum PNG {
    public static func encode(_ image: RenderedImage, level: Int32 = 1) -> [UInt8] {
        let rowLength = image.width * image.channels
        var filtered = [UInt8](repeating: 0, count: (rowLength + 1) * image.height)
        for y in 0..<image.height {
            let out = y * (rowLength + 1)
            let source = y * rowLength
            filtered[out] = 1
            for x in 0..<rowLength {
                let left = x >= image.channels ? image.pixels[source + x - image.channels] : 0
                filtered[out + 1 + x] = image.pixels[source + x] &- left
            }
        }
        var header: [UInt8] = []
        header.appendBE(UInt32(image.width))
        header.appendBE(UInt32(image.height))
        header += [8, image.channels == 3 ? 2 : 0, 0, 0, 0]
        var output: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        chunk("IHDR", header, into: &output)
        chunk("IDAT", Deflate.deflate(filtered, raw: false, level: level), into: &output)
        chunk("IEND", [], into: &output)
        return output
    }

    static func chunk(_ type: String, _ data: [UInt8], into output: inout [UInt8]) {
        output.appendBE(UInt32(data.count))
        let typed = Array(type.utf8) + data
        output += typed
        output.appendBE(Deflate.crc32(typed))
    }
}

extension Array where Element == UInt8 {
    mutating func appendBE(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
}
