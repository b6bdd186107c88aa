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
