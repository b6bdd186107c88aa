import SyntheticData
import Testing

@testable import HygieServer

@Suite struct MultipartRelatedReaderTests {
    /// Part bodies full of near-delimiters: CR, CRLF, CRLF-, the boundary without its dashes.
    static let bodies: [[UInt8]] = [
        Array("\r\r\n\r\n-\r\n-x\r\nBOUNDARY".utf8) + (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 7) },
        [],
        Array("\r\n--BOUNDAR".utf8),
    ]

    static func body(boundary: String) -> [UInt8] {
        var bytes = Array("preamble\r\n--\(boundary)".utf8)
        for (index, part) in bodies.enumerated() {
            bytes += Array((index == 1 ? " \r\n\r\n" : "\r\nContent-Type : application/dicom\r\nX-Index:\(index)\r\n\r\n").utf8)
            bytes += part + Array("\r\n--\(boundary)".utf8)
        }
        return bytes + Array("--\r\nepilogue".utf8)
    }

    @Test(arguments: [1, 2, 7, 13, 64, 4096, 1 << 20])
    func partsAreTheSameWhateverPiecesTheBodyArrivesIn(piece: Int) throws {
        let body = Self.body(boundary: "BOUNDARY")
        var reader = MultipartRelatedReader(boundary: "BOUNDARY")
        var parts: [MultipartRelatedReader.Part] = []
        for start in stride(from: 0, to: body.count, by: piece) {
            parts += try reader.feed(body[start..<min(start + piece, body.count)])
        }
        #expect(reader.isFinished)
        #expect(parts.map(\.body) == Self.bodies)
        #expect(parts[0].headers == ["content-type": "application/dicom", "x-index": "0"])
        #expect(parts[1].headers.isEmpty)
    }

    /// A part longer than the limit is skipped to the next delimiter and reported, the parts
    /// after it are read, and the reader never holds much more than the limit.
    @Test(arguments: [1, 7, 64, 4096])
    func aPartPastTheLimitIsSkippedAndTheNextOnesRead(piece: Int) throws {
        let large = [UInt8](repeating: 0x41, count: 10_000) + Array("\r\n--X".utf8)
        let body = Array("--B\r\n\r\nsmall\r\n--B\r\n\r\n".utf8) + large + Array("\r\n--B\r\n\r\nafter\r\n--B--".utf8)
        var reader = MultipartRelatedReader(boundary: "B", maximumPartLength: 1_000)
        var parts: [MultipartRelatedReader.Part] = []
        for start in stride(from: 0, to: body.count, by: piece) {
            parts += try reader.feed(body[start..<min(start + piece, body.count)])
            #expect(reader.held <= 1_000 + piece + 8)
        }
        #expect(reader.isFinished)
        #expect(parts.map(\.oversized) == [false, true, false])
        #expect(parts.map(\.body) == [Array("small".utf8), [], Array("after".utf8)])
    }

    /// Random bodies (parts full of near-delimiters, some past the limit) give the same parts
    /// fed whole and fed in random pieces, and a part is skipped exactly when it is longer than
    /// the limit.
    @Test func randomBodiesGiveTheSamePartsWholeOrInPieces() throws {
        var random = SeededGenerator(seed: 20261207)
        let fragments: [[UInt8]] = [Array("\r\n--B".utf8).dropLast().map { $0 }, Array("\r\n-".utf8), [13], [45, 45], [66], Array("AAAA".utf8)]
        for _ in 0..<300 {
            let limit = Int(random.next() % 200) + 20
            var bodies: [[UInt8]] = []
            for _ in 0..<(Int(random.next() % 5) + 1) {
                var part: [UInt8] = []
                for _ in 0..<Int(random.next() % 40) { part += fragments[Int(random.next() % UInt64(fragments.count))] }
                // A part may come close to the delimiter but not hold it.
                if MultipartRelatedReader.find(Array("\r\n--B".utf8), in: (Array("\r\n".utf8) + part)[...], from: 0) != nil { continue }
                bodies.append(part)
            }
            var body = Array("--B".utf8)
            for part in bodies { body += Array("\r\n\r\n".utf8) + part + Array("\r\n--B".utf8) }
            body += Array("--".utf8)
            var whole = MultipartRelatedReader(boundary: "B", maximumPartLength: limit)
            let expected = try whole.feed(body[...])
            #expect(expected.map(\.oversized) == bodies.map { $0.count + 4 > limit })
            #expect(expected.map(\.body) == bodies.map { $0.count + 4 > limit ? [] : $0 })
            var pieces = MultipartRelatedReader(boundary: "B", maximumPartLength: limit)
            var parts: [MultipartRelatedReader.Part] = []
            var start = 0
            while start < body.count {
                let end = min(body.count, start + Int(random.next() % 9) + 1)
                parts += try pieces.feed(body[start..<end])
                start = end
            }
            #expect(pieces.isFinished)
            #expect(parts.map(\.oversized) == expected.map(\.oversized))
            #expect(parts.map(\.body) == expected.map(\.body))
        }
    }

    @Test func theBoundaryIsReadFromTheContentType() {
        #expect(MultipartRelatedReader.boundary(#"multipart/related; type="application/dicom"; boundary="a b:c""#) == "a b:c")
        #expect(MultipartRelatedReader.boundary("multipart/related;boundary = xyz ;type=application/dicom") == "xyz")
        #expect(MultipartRelatedReader.boundary("multipart/related; type=application/dicom") == nil)
    }

    @Test func findLooksFromTheOffsetWithinASlice() {
        let bytes: [UInt8] = [9, 1, 2, 1, 2, 3, 1, 2, 3]
        #expect(MultipartRelatedReader.find([1, 2, 3], in: bytes[...], from: 0) == 3)
        #expect(MultipartRelatedReader.find([1, 2, 3], in: bytes[...], from: 4) == 6)
        #expect(MultipartRelatedReader.find([1, 2, 3], in: bytes[1...], from: 0) == 2)
        #expect(MultipartRelatedReader.find([1, 2, 3], in: bytes[...], from: 7) == nil)
        #expect(MultipartRelatedReader.find([3, 1, 2, 3], in: bytes[...], from: 0) == 5)
    }
}
