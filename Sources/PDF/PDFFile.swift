import Foundation

/// The file structure: header, numbered objects, cross-reference table and trailer (ISO
/// 32000-1 §7.5), with each object's byte offset recorded as it is written.
struct PDFFile {
    let title: String
    let author: String
    let pages: [String]

    func bytes() -> Data {
        var out = Data("%PDF-1.4\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        var offsets: [Int] = []
        func object(_ body: String) {
            offsets.append(out.count)
            out += Data("\(offsets.count) 0 obj\n".utf8)
            out += Data(body.utf8)
            out += Data("\nendobj\n".utf8)
        }
        // 1 catalog, 2 page tree, 3 and 4 fonts, 5 info, then a page and its content per page.
        let firstPage = 6
        let kids = pages.indices.map { "\(firstPage + 2 * $0) 0 R" }.joined(separator: " ")
        object("<< /Type /Catalog /Pages 2 0 R >>")
        object("<< /Type /Pages /Kids [\(kids)] /Count \(pages.count) >>")
        object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
        object("<< /Title (\(PDFText.escaped(title))) /Author (\(PDFText.escaped(author))) /Producer (Hygie) >>")
        for (index, content) in pages.enumerated() {
            let contentObject = firstPage + 2 * index + 1
            object(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(Int(PDFLayout.pageWidth)) \(Int(PDFLayout.pageHeight))] "
                    + "/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents \(contentObject) 0 R >>")
            let stream = Data(content.utf8)
            offsets.append(out.count)
            out += Data("\(offsets.count) 0 obj\n<< /Length \(stream.count) >>\nstream\n".utf8)
            out += stream
            out += Data("\nendstream\nendobj\n".utf8)
        }
        let xref = out.count
        var table = "xref\n0 \(offsets.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { table += String(offset).leftPadded(to: 10) + " 00000 n \n" }
        out += Data(table.utf8)
        out += Data("trailer\n<< /Size \(offsets.count + 1) /Root 1 0 R /Info 5 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return out
    }
}
