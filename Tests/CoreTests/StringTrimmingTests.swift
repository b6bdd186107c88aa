import Core
import Testing

@Suite struct StringTrimmingTests {
    @Test func spacesAndTabsAreTrimmedAtBothEndsOnly() {
        #expect(" \tabc def\t ".trimmingASCII() == "abc def")
        #expect("abc".trimmingASCII() == "abc")
        #expect(" \t ".trimmingASCII() == "")
        #expect("".trimmingASCII() == "")
    }

    @Test func otherCharactersCanBeNamed() {
        #expect("\"a\\\"b\"".trimmingASCII("\"") == "a\\\"b")
        #expect(" \"x\" ".trimmingASCII("\" ") == "x")
    }

    @Test func textAroundIsKeptWhole() {
        #expect("  é  ".trimmingASCII() == "é")
        #expect(" x".dropFirst().trimmingASCII() == "x")
    }
}
