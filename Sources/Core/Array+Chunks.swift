extension Array {
    /// The array cut into consecutive pieces of at most `size` elements, in order: statements
    /// naming many rows are sent in bounded pieces (the databases limit bound parameters).
    public func chunks(of size: Int) -> [[Element]] {
        precondition(size > 0, "a chunk holds at least one element")
        return stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
