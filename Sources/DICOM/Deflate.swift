import CZlib

/// zlib's deflate, for the Deflated Explicit VR Little Endian transfer syntax (PS3.5 §A.5, raw
/// deflate without header) and for PNG (zlib stream).
public enum Deflate {
    /// Upper bound on inflated output, so that a small hostile stream cannot exhaust memory.
    public static let maximumInflatedSize = 1 << 30
    /// The largest buffer zlib inflates into at once.
    static let chunkLimit = 4 << 20

    /// The buffer zlib inflates into: four times the input, a first guess at the ratio, but
    /// never more than `chunkLimit` (a 512 MB deflated instance had 2 GB zeroed before a byte
    /// was inflated).
    static func bufferSize(forInputOf count: Int) -> Int { min(max(65536, count * 4), chunkLimit) }

    public static func inflate(_ input: [UInt8], raw: Bool) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, raw ? -MAX_WBITS : MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DICOMError.deflate("zlib did not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: bufferSize(forInputOf: input.count))
        var source = input
        return try source.withUnsafeMutableBufferPointer { inputBuffer in
            stream.next_in = inputBuffer.baseAddress
            stream.avail_in = UInt32(inputBuffer.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    stream.next_out = chunkBuffer.baseAddress
                    stream.avail_out = UInt32(chunkBuffer.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if output.count > maximumInflatedSize { throw DICOMError.deflate("the inflated data exceeds \(maximumInflatedSize) bytes") }
                if status == Z_STREAM_END { return output }
                if status == Z_BUF_ERROR && stream.avail_in == 0 { return output }
                guard status == Z_OK else { throw DICOMError.deflate(stream.msg.map { String(cString: $0) } ?? "zlib status \(status)") }
            }
        }
    }

    public static func deflate(_ input: [UInt8], raw: Bool, level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, raw ? -MAX_WBITS : MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 16)
        var source = input
        let produced: Int = source.withUnsafeMutableBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = UInt32(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = UInt32(outputBuffer.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
                return outputBuffer.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(produced))
    }

    public static func crc32(_ bytes: [UInt8], initial: UInt = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(initial, $0.baseAddress, UInt32($0.count))) }
    }
}
