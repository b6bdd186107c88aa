/// The image pixel module of a data set (PS3.3 §C.7.6.3): geometry, sample layout and the
/// bytes of each frame, decoded to the native little-endian layout when the transfer syntax
/// allows it.
public struct PixelModule: Sendable {
    public let rows: Int
    public let columns: Int
    public let samplesPerPixel: Int
    public let bitsAllocated: Int
    public let bitsStored: Int
    public let pixelRepresentation: Int
    public let planarConfiguration: Int
    public let photometricInterpretation: String
    public let numberOfFrames: Int

    public init(_ dataSet: DataSet) throws {
        guard let rows = dataSet.integer(.rows), let columns = dataSet.integer(.columns), rows > 0, columns > 0 else {
            throw DICOMError.missingAttribute(.rows)
        }
        self.rows = rows
        self.columns = columns
        samplesPerPixel = max(1, dataSet.integer(.samplesPerPixel) ?? 1)
        bitsAllocated = dataSet.integer(.bitsAllocated) ?? 16
        bitsStored = dataSet.integer(.bitsStored) ?? bitsAllocated
        pixelRepresentation = dataSet.integer(.pixelRepresentation) ?? 0
        planarConfiguration = dataSet.integer(.planarConfiguration) ?? 0
        photometricInterpretation = dataSet.string(.photometricInterpretation) ?? "MONOCHROME2"
        numberOfFrames = max(1, dataSet.integer(.numberOfFrames) ?? 1)
        guard [8, 16, 32].contains(bitsAllocated), (1...bitsAllocated).contains(bitsStored), [1, 3].contains(samplesPerPixel) else {
            throw DICOMError.cannotDecodePixels("\(bitsAllocated) bits allocated, \(bitsStored) stored, \(samplesPerPixel) samples per pixel")
        }
    }

    public var bytesPerSample: Int { bitsAllocated / 8 }
    public var frameLength: Int { rows * columns * samplesPerPixel * bytesPerSample }
}

public enum PixelData {
    /// The bytes of frame `index` (0-based) exactly as stored: a slice of native pixel data, or
    /// the compressed bitstream of one frame.
    public static func storedFrame(_ dataSet: DataSet, syntax: TransferSyntax, index: Int) throws -> [UInt8] {
        guard let element = dataSet[.pixelData] ?? dataSet[.floatPixelData] else { throw DICOMError.missingAttribute(.pixelData) }
        let module = try PixelModule(dataSet)
        guard index >= 0, index < module.numberOfFrames else {
            throw DICOMError.cannotDecodePixels("frame \(index + 1) does not exist; the instance has \(module.numberOfFrames)")
        }
        switch element.value {
        case .bytes(let bytes):
            let start = index * module.frameLength
            guard start + module.frameLength <= bytes.count else { throw DICOMError.cannotDecodePixels("the pixel data is shorter than its frames") }
            return Array(bytes[start..<(start + module.frameLength)])
        case .fragments(let offsetTable, let fragments):
            return try encapsulatedFrame(offsetTable: offsetTable, fragments: fragments, frames: module.numberOfFrames, index: index)
        case .sequence:
            throw DICOMError.cannotDecodePixels("pixel data is a sequence")
        }
    }

    /// Splits fragments into frames (PS3.5 §A.4): one frame takes every fragment; otherwise the
    /// basic offset table says where each frame starts, or else there is one fragment per frame.
    static func encapsulatedFrame(offsetTable: [UInt8], fragments: [[UInt8]], frames: Int, index: Int) throws -> [UInt8] {
        if frames == 1 { return fragments.flatMap { $0 } }
        if offsetTable.count >= 4 * frames {
            let offsets = (0..<frames).map { Int(offsetTable.loadLE(UInt32.self, at: $0 * 4)) }
            var position = 0
            var frame: [UInt8] = []
            let start = offsets[index]
            let end = index + 1 < frames ? offsets[index + 1] : Int.max
            for fragment in fragments {
                if position >= start && position < end { frame += fragment }
                position += fragment.count + 8
            }
            return frame
        }
        guard fragments.count == frames else {
            throw DICOMError.cannotDecodePixels("\(fragments.count) fragments for \(frames) frames and no offset table")
        }
        return fragments[index]
    }

    /// Frame `index` in the native layout (little endian, interleaved as stored), decoding RLE.
    public static func nativeFrame(_ dataSet: DataSet, syntax: TransferSyntax, index: Int) throws -> [UInt8] {
        let stored = try storedFrame(dataSet, syntax: syntax, index: index)
        if !syntax.isEncapsulated { return stored }
        guard syntax == .rleLossless else {
            throw DICOMError.cannotDecodePixels("Hygie cannot decode transfer syntax \(syntax.uid)")
        }
        return try RLE.decode(stored, module: try PixelModule(dataSet))
    }
}

/// RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits segment
/// per byte plane, most significant byte first, each sample in turn.
enum RLE {
    static func decode(_ frame: [UInt8], module: PixelModule) throws -> [UInt8] {
        guard frame.count >= 64 else { throw DICOMError.cannotDecodePixels("the RLE header is truncated") }
        let segmentCount = Int(frame.loadLE(UInt32.self, at: 0))
        let bytesPerSample = module.bytesPerSample
        guard segmentCount == bytesPerSample * module.samplesPerPixel, segmentCount <= 15 else {
            throw DICOMError.cannotDecodePixels("\(segmentCount) RLE segments for \(module.samplesPerPixel) samples of \(module.bitsAllocated) bits")
        }
        let offsets = (0..<segmentCount).map { Int(frame.loadLE(UInt32.self, at: 4 + $0 * 4)) }
        let pixels = module.rows * module.columns
        var output = [UInt8](repeating: 0, count: pixels * segmentCount)
        for segment in 0..<segmentCount {
            let start = offsets[segment]
            let end = segment + 1 < segmentCount ? offsets[segment + 1] : frame.count
            guard start >= 64, start <= end, end <= frame.count else { throw DICOMError.cannotDecodePixels("an RLE segment offset is out of range") }
            let plane = unpack(frame[start..<end], count: pixels)
            let sample = segment / bytesPerSample
            // Segments run from the most significant byte; native little endian puts it last.
            let byteInSample = bytesPerSample - 1 - segment % bytesPerSample
            // RLE always yields planar order per sample; native output is interleaved (planar 0).
            let stride = segmentCount
            let base = sample * bytesPerSample + byteInSample
            for pixel in 0..<min(pixels, plane.count) { output[pixel * stride + base] = plane[pixel] }
        }
        return output
    }

    /// PackBits: n in 0...127 copies n+1 literal bytes, -127...-1 repeats the next byte 1-n times.
    static func unpack(_ input: ArraySlice<UInt8>, count: Int) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(count)
        var index = input.startIndex
        while index < input.endIndex, output.count < count {
            let header = Int(Int8(bitPattern: input[index]))
            index += 1
            if header >= 0 {
                let end = min(index + header + 1, input.endIndex)
                output.append(contentsOf: input[index..<end])
                index = end
            } else if header != -128, index < input.endIndex {
                output.append(contentsOf: repeatElement(input[index], count: 1 - header))
                index += 1
            }
        }
        return output
    }
}
