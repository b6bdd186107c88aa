import Foundation

/// Places blocks on A4 pages (595 × 842 points) and writes each page's content stream.
struct PDFLayout {
    static let pageWidth = 595.0
    static let pageHeight = 842.0
    static let margin = 50.0
    static var textWidth: Double { pageWidth - 2 * margin }

    var pages: [String] = []
    var current = ""
    var y = pageHeight - margin

    mutating func lay(_ blocks: [PDFDocument.Block]) {
        for block in blocks {
            switch block {
            case .heading(let text, let level):
                let size = level == 1 ? 16.0 : 12.5
                ensure(size * 2.4)
                y -= level == 1 ? 4 : 8
                for line in PDFText.wrap(text, size: size, bold: true, width: Self.textWidth) {
                    y -= size * 1.25
                    show(line, x: Self.margin, size: size, bold: true)
                }
                y -= 4
            case .paragraph(let text, let size, let bold):
                for line in PDFText.wrap(text, size: size, bold: bold, width: Self.textWidth) {
                    ensure(size * 1.35)
                    y -= size * 1.35
                    show(line, x: Self.margin, size: size, bold: bold)
                }
            case .fields(let pairs):
                let labelWidth = min(160, (pairs.map { PDFText.width($0.0 + " :", size: 10, bold: true) }.max() ?? 0) + 8)
                for (label, value) in pairs {
                    let lines = PDFText.wrap(value, size: 10, bold: false, width: Self.textWidth - labelWidth)
                    for (index, line) in lines.enumerated() {
                        ensure(13.5)
                        y -= 13.5
                        if index == 0 { show(label + " :", x: Self.margin, size: 10, bold: true) }
                        show(line, x: Self.margin + labelWidth, size: 10, bold: false)
                    }
                }
            case .table(let columns, let rows):
                table(columns, rows)
            case .space(let points):
                y -= points
            }
        }
    }

    mutating func table(_ columns: [PDFColumn], _ rows: [[String]]) {
        let total = columns.map(\.width).reduce(0, +)
        let widths = columns.map { $0.width / max(total, 0.0001) * Self.textWidth }
        let size = 8.5
        let leading = size * 1.3
        func cells(_ texts: [String], bold: Bool) -> [[String]] {
            zip(texts, widths).map { PDFText.wrap($0, size: size, bold: bold, width: $1 - 6) }
        }
        func draw(_ lines: [[String]], bold: Bool, shaded: Bool) {
            let height = Double(lines.map(\.count).max() ?? 1) * leading + 4
            if shaded { current += String(format: "0.92 g %.2f %.2f %.2f %.2f re f 0 g\n", Self.margin, y - height, Self.textWidth, height) }
            var x = Self.margin
            for (column, cell) in lines.enumerated() {
                var lineY = y - 2
                for line in cell {
                    lineY -= leading
                    show(line, x: x + 3, at: lineY + 2.5, size: size, bold: bold)
                }
                x += widths[column]
            }
            y -= height
            current += String(format: "0.6 G 0.4 w %.2f %.2f m %.2f %.2f l S 0 G\n", Self.margin, y, Self.margin + Self.textWidth, y)
        }
        let header = cells(columns.map(\.title), bold: true)
        let headerHeight = Double(header.map(\.count).max() ?? 1) * leading + 4
        ensure(headerHeight + leading + 4)
        draw(header, bold: true, shaded: true)
        for row in rows {
            let lines = cells(row + Array(repeating: "", count: max(0, columns.count - row.count)), bold: false)
            let height = Double(lines.map(\.count).max() ?? 1) * leading + 4
            if y - height < Self.margin + 20 {
                newPage()
                draw(header, bold: true, shaded: true)
            }
            draw(lines, bold: false, shaded: false)
        }
        y -= 6
    }

    /// Starts a new page when less than `height` remains above the footer.
    mutating func ensure(_ height: Double) {
        if y - height < Self.margin + 20 { newPage() }
    }

    mutating func newPage() {
        pages.append(current)
        current = ""
        y = Self.pageHeight - Self.margin
    }

    mutating func show(_ text: String, x: Double, at baseline: Double? = nil, size: Double, bold: Bool) {
        current += String(format: "BT /%@ %.2f Tf %.2f %.2f Td (", bold ? "F2" : "F1", size, x, baseline ?? y) + PDFText.escaped(text) + ") Tj ET\n"
    }

    /// The pages with their footers ("n / N"), now that N is known.
    mutating func finishedPages() -> [String] {
        pages.append(current)
        current = ""
        let count = pages.count
        return pages.enumerated().map { index, content in
            let footer = "\(index + 1) / \(count)"
            let x = Self.pageWidth - Self.margin - PDFText.width(footer, size: 8, bold: false)
            return content + String(format: "BT /F1 8 Tf %.2f %.2f Td (", x, Self.margin - 20) + PDFText.escaped(footer) + ") Tj ET\n"
        }
    }
}
