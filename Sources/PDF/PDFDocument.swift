import Foundation

/// A printable document laid out top to bottom on A4 pages: headings, paragraphs, key–value
/// lines and tables whose rows wrap and break across pages, with "page n / N" at the foot
/// of each page. Text is set in the standard Helvetica faces with WinAnsiEncoding, which
/// carries French accents (PDF 1.7, ISO 32000-1 §9.6.2.2 and Annex D), so no font is embedded.
public struct PDFDocument: Sendable {
    public var title: String
    public var author: String
    var blocks: [Block] = []

    public init(title: String, author: String = "Hygie") {
        self.title = title
        self.author = author
    }

    enum Block: Sendable {
        case heading(String, level: Int)
        case paragraph(String, size: Double, bold: Bool)
        case fields([(String, String)])
        case table(columns: [PDFColumn], rows: [[String]])
        case space(Double)
    }

    public mutating func heading(_ text: String, level: Int = 1) { blocks.append(.heading(text, level: level)) }

    public mutating func paragraph(_ text: String, size: Double = 10, bold: Bool = false) { blocks.append(.paragraph(text, size: size, bold: bold)) }

    /// "Label: value" lines, labels in bold.
    public mutating func fields(_ pairs: [(String, String)]) { blocks.append(.fields(pairs)) }

    public mutating func table(_ columns: [PDFColumn], rows: [[String]]) { blocks.append(.table(columns: columns, rows: rows)) }

    public mutating func space(_ points: Double = 8) { blocks.append(.space(points)) }

    /// The PDF file.
    public func render() -> Data {
        var layout = PDFLayout()
        layout.lay(blocks)
        return PDFFile(title: title, author: author, pages: layout.finishedPages()).bytes()
    }
}

/// A table column: its heading and its share of the text width.
public struct PDFColumn: Sendable {
    public var title: String
    public var width: Double

    public init(_ title: String, width: Double) {
        self.title = title
        self.width = width
    }
}
