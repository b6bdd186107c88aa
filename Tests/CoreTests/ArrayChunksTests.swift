import Core
import Testing

@Suite struct ArrayChunksTests {
    @Test func piecesKeepTheOrderAndTheLastHoldsTheRest() {
        #expect(Array(1...7).chunks(of: 3) == [[1, 2, 3], [4, 5, 6], [7]])
        #expect(Array(1...6).chunks(of: 3) == [[1, 2, 3], [4, 5, 6]])
        #expect(Array(1...2).chunks(of: 500) == [[1, 2]])
    }

    @Test func anEmptyArrayHasNoPieces() {
        #expect([Int]().chunks(of: 4).isEmpty)
    }
}
