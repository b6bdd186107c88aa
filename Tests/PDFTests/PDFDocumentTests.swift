import Foundation
import Testing

@testable import PDF

@Suite struct PDFDocumentTests {
    @Test func theWidthTableCoversPrintableASCII() {
        #expect(PDFText.regular.count == 95)
        #expect(PDFText.width("é", size: 10, bold: false) == PDFText.width("e", size: 10, bold: false))
    }

    @Test func frenchAccentsAreWrittenInWinAnsi() {
        #expect(PDFText.winAnsi("Clôturé — œil €") == [0x43, 0x6C, 0xF4, 0x74, 0x75, 0x72, 0xE9, 0x20, 0x97, 0x20, 0x9C, 0x69, 0x6C, 0x20, 0x80])
        #expect(PDFText.escaped("(à)\\") == "\\(\\340\\)\\\\")
    }

    @Test func longTextWrapsWithinTheWidth() {
        let lines = PDFText.wrap(String(repeating: "contourage ", count: 40), size: 10, bold: false, width: 200)
        #expect(lines.count > 5)
        #expect(lines.allSatisfy { PDFText.width($0, size: 10, bold: false) <= 200 })
    }

    @Test func theCrossReferenceTableGivesEachObjectsOffset() throws {
        var document = PDFDocument(title: "Dossier")
        document.heading("Historique")
        document.table([PDFColumn("Date", width: 1), PDFColumn("Étape", width: 2)], rows: (1...120).map { ["2026-11-\($0 % 28 + 1)", "Étape \($0)"] })
        let data = document.render()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasPrefix("%PDF-1.4"))
        #expect(text.contains("1 / 3") || text.contains("1 / 4"))
        let startxref = try #require(text.range(of: "startxref\n"))
        let xref = try #require(Int(text[startxref.upperBound...].prefix { $0.isNumber }))
        #expect(String(decoding: data[xref..<(xref + 4)], as: UTF8.self) == "xref")
        // Every "n" entry points at "k 0 obj".
        let table = String(decoding: data[xref...], as: UTF8.self).split(separator: "\n").dropFirst(3).prefix { $0.hasSuffix(" n ") }
        for (index, entry) in table.enumerated() {
            let offset = Int(entry.prefix(10))!
            #expect(String(decoding: data[offset..<(offset + 12)], as: UTF8.self).hasPrefix("\(index + 1) 0 obj"))
        }
    }
}
