import Testing

@testable import FHIR

@Suite struct JSONTests {
    @Test func decimalsKeepTheirPrecisionThroughARoundTrip() throws {
        let json = try JSONParser.parse(#"{"value":1.50,"big":12345678901234567890,"exp":1e-7}"#)
        #expect(JSONWriter.string(json) == #"{"value":1.50,"big":12345678901234567890,"exp":1e-7}"#)
    }

    @Test func membersKeepTheirOrder() throws {
        let json = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(json.objectValue?.keys == ["z", "a", "m"])
    }

    @Test func duplicateMembersAreRejected() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#"{"a":1,"a":2}"#) }
    }

    @Test func escapesAndUnicodeAreDecoded() throws {
        let json = try JSONParser.parse(#"["H\u00e9l\u00e8ne \"B\"\n", "😀", "\ud83d\ude00"]"#)
        #expect(json.arrayValue?[0].stringValue == "Hélène \"B\"\n")
        #expect(json.arrayValue?[1] == json.arrayValue?[2])
        #expect(JSONWriter.string(json) == #"["Hélène \"B\"\n","😀","😀"]"#)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "01", "1.", "tru", "\"\u{01}\"", "{} x", "[\"\\ud800\"]"])
    func malformedJSONIsRejected(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": tru\n}")
            Issue.record("expected a parse error")
        } catch {
            #expect(error.line == 2)
        }
    }

    @Test func deepNestingIsRejected() {
        let text = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func prettyPrintingIndents() throws {
        let json = try JSONParser.parse(#"{"a":[1,{"b":true}]}"#)
        #expect(JSONWriter.string(json, pretty: true) == "{\n  \"a\": [\n    1,\n    {\n      \"b\": true\n    }\n  ]\n}")
    }
}
