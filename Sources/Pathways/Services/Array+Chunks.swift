extension Array {
    /// The array cut into consecutive slices of at most `size` elements: searches naming many
    /// ids are sent in bounded pieces (the databases limit bound parameters).
    func chunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
