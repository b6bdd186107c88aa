extension StringProtocol {
    /// Without the leading and trailing characters among `characters`, which must be ASCII
    /// (by default space and tab, HTTP's optional whitespace). Found on the UTF-8 bytes:
    /// Foundation's `trimmingCharacters(in:)` goes through UTF-16 and a new string, a cost
    /// worth avoiding on what every request reads (its Authorization and Content-Type).
    public func trimmingASCII(_ characters: StaticString = " \t") -> SubSequence {
        characters.withUTF8Buffer { set in
            precondition(set.allSatisfy { $0 < 0x80 }, "only ASCII characters are trimmed")
            let bytes = utf8
            var start = bytes.startIndex
            while start < bytes.endIndex, set.contains(bytes[start]) { start = bytes.index(after: start) }
            var end = start
            var index = start
            while index < bytes.endIndex {
                let kept = !set.contains(bytes[index])
                index = bytes.index(after: index)
                if kept { end = index }
            }
            return self[start..<end]
        }
    }
}
