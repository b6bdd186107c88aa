import FHIR
import Foundation

/// Position after the last row of a page (keyset paging): the sort values of that row and its
/// row id. The next page starts strictly after it, so rows written meanwhile neither shift
/// nor repeat the pages (FHIR R4 §3.1.1.6 leaves the method to the server).
struct SearchCursor: Equatable {
    enum Value: Equatable {
        case text(String)
        case integer(Int64)
        case real(Double)
    }

    var values: [Value]
    var rid: Int64
    /// The `_sort` the cursor was made for; a cursor used with another sort is refused.
    var signature: String

    func encoded() -> String {
        var items: [JSON] = values.map {
            switch $0 {
            case .text(let text): .string(text)
            case .integer(let value): .number(JSONNumber(text: String(value)))
            case .real(let value): .number(JSONNumber(text: "\(value)"))
            }
        }
        items.append(.number(JSONNumber(text: String(rid))))
        let json: JSON = ["v": .array(items), "s": .string(signature)]
        return Data(JSONWriter.bytes(json)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String, kinds: [SortValueKind], signature: String) throws(FHIRError) -> SearchCursor {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let json = try? JSONParser.parse(Array(data)),
            json["s"]?.stringValue == signature, var items = json["v"]?.arrayValue, items.count == kinds.count + 1,
            let rid = items.removeLast().numberValue.flatMap({ Int64($0.text) })
        else {
            throw .invalid("The paging cursor is not valid for this search; start again from the first page.")
        }
        var values: [Value] = []
        for (kind, item) in zip(kinds, items) {
            switch kind {
            case .text:
                guard let text = item.stringValue else { throw .invalid("The paging cursor is damaged.") }
                values.append(.text(text))
            case .integer:
                guard let value = item.numberValue.flatMap({ Int64($0.text) }) else { throw .invalid("The paging cursor is damaged.") }
                values.append(.integer(value))
            case .real:
                guard let value = item.numberValue?.doubleValue else { throw .invalid("The paging cursor is damaged.") }
                values.append(.real(value))
            }
        }
        return SearchCursor(values: values, rid: rid, signature: signature)
    }
}

enum SortValueKind {
    case text, integer, real
}
