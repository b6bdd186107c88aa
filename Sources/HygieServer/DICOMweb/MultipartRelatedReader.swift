import Core
import Foundation

/// Splits a multipart/related body (RFC 2387, as STOW-RS sends it, PS3.18 §8.6.1.2) into its
/// parts as the bytes arrive, so that one part at a time is held in memory, and no more than
/// `maximumPartLength` of it: the rest of a longer part is skipped up to the next delimiter
/// and the part handed over `oversized`, without its bytes.
struct MultipartRelatedReader {
    struct Part {
        var headers: [String: String]
        var body: [UInt8]
        /// Longer than `maximumPartLength`: skipped, `headers` and `body` empty.
        var oversized = false
    }

    let delimiter: [UInt8]
    let maximumPartLength: Int
    private var buffer: [UInt8] = []
    private var started = false
    private var finished = false
    private var searchFrom = 0
    /// The current part is past the limit: its bytes are dropped as they come.
    private var skipping = false

    init(boundary: String, maximumPartLength: Int = .max) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.maximumPartLength = maximumPartLength
    }

    /// The boundary parameter of a Content-Type header.
    static func boundary(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingASCII() }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                return String(pair[1].trimmingASCII("\""))
            }
        }
        return nil
    }

    var isFinished: Bool { finished }

    /// How many bytes the reader holds (at most about `maximumPartLength` and the last piece fed).
    var held: Int { buffer.count }

    /// Adds bytes and returns the parts they complete.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws -> [Part] {
        buffer.append(contentsOf: bytes)
        var parts: [Part] = []
        if !started {
            // The first delimiter may open the body without the leading CRLF.
            let opening = Array(delimiter.dropFirst(2))
            guard let start = Self.find(opening, in: buffer[...], from: 0) else {
                if buffer.count > 4096 { throw MultipartError.noBoundary }
                return []
            }
            buffer.removeFirst(start + opening.count)
            started = true
            searchFrom = 0
        }
        while !finished {
            // After a delimiter: "--" ends the body, else CRLF starts a part.
            guard buffer.count >= 2 else { break }
            // (While a part is skipped the buffer holds its last bytes, not what follows a delimiter.)
            if !skipping, buffer[0] == UInt8(ascii: "-"), buffer[1] == UInt8(ascii: "-") {
                finished = true
                break
            }
            guard let end = Self.find(delimiter, in: buffer[...], from: max(searchFrom, 0)) else {
                // The part's bytes are all but the last few, which may begin the delimiter.
                if skipping || buffer.count - (delimiter.count - 1) > maximumPartLength {
                    // Only what may begin the next delimiter is kept.
                    skipping = true
                    buffer.removeFirst(max(0, buffer.count - (delimiter.count - 1)))
                }
                searchFrom = max(0, buffer.count - delimiter.count)
                break
            }
            if skipping || end > maximumPartLength {
                parts.append(Part(headers: [:], body: [], oversized: true))
                skipping = false
            } else {
                parts.append(try Self.part(buffer[0..<end]))
            }
            buffer.removeFirst(end + delimiter.count)
            searchFrom = 0
        }
        return parts
    }

    static func part(_ raw: ArraySlice<UInt8>) throws -> Part {
        let separator: [UInt8] = [13, 10, 13, 10]
        var start = raw.startIndex
        // Skip the CRLF (and any transport padding) that follows the delimiter.
        while start < raw.endIndex, raw[start] == 32 || raw[start] == 9 { start += 1 }
        if raw[start...].starts(with: [13, 10]) { start += 2 }
        var headers: [String: String] = [:]
        if raw[start...].starts(with: [13, 10]) {
            return Part(headers: headers, body: Array(raw[(start + 2)...]))
        }
        guard let headerEnd = find(separator, in: raw[start...], from: 0) else { throw MultipartError.malformedPart }
        let headerText = String(decoding: raw[start..<(start + headerEnd)], as: UTF8.self)
        for line in headerText.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            if pair.count == 2 { headers[pair[0].trimmingASCII().lowercased()] = String(pair[1].trimmingASCII()) }
        }
        return Part(headers: headers, body: Array(raw[(start + headerEnd + 4)...]))
    }

    /// The offset of `needle` in `haystack` at or after `offset`. Parts are whole DICOM files:
    /// memchr finds each candidate first byte and memcmp checks it, where a byte-by-byte loop
    /// took an eighth of a 512 KB STOW request's CPU.
    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>, from offset: Int) -> Int? {
        guard let first = needle.first, offset >= 0, haystack.count - offset >= needle.count else { return nil }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin -> Int? in
                guard let base = hay.baseAddress else { return nil }
                var position = offset
                let last = hay.count - pin.count
                while position <= last {
                    guard let hit = memchr(base + position, Int32(first), last - position + 1) else { return nil }
                    let candidate = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + candidate, pin.baseAddress!, pin.count) == 0 { return candidate }
                    position = candidate + 1
                }
                return nil
            }
        }
    }
}

enum MultipartError: Error {
    case noBoundary
    case malformedPart
}
