/// Group commit: items that arrive while a batch is being written wait and are written
/// together in the next transaction (a few multi-row statements and one commit for all of
/// them, instead of statements and a commit each). Every caller gets its answer only after
/// the commit that holds its item. There is no background task: the caller that finds nobody
/// writing leads a batch, then hands the lead to the oldest waiter. Used for plain FHIR
/// creates, for the audit records of reads, and for the index rows of DICOM associations
/// storing at the same time.
public actor GroupCommit<Item: Sendable, Output: Sendable> {
    public enum Turn: Sendable {
        case written(Output)
        case lead
    }

    struct Waiting {
        let item: Item
        let tenant: TenantID
        let continuation: CheckedContinuation<Turn, any Error>
    }

    public typealias Commit = @Sendable ([Item], TenantID) async throws -> [Output]

    public let maximumBatch: Int
    private var waiting: [Waiting] = []
    private var writing = false

    public init(maximumBatch: Int = 200) {
        self.maximumBatch = maximumBatch
    }

    /// Writes `item` with whatever else is waiting for the same tenant; `commit` gets the
    /// batch (this item first) and returns one output per item, in order.
    public func submit(_ item: Item, tenant: TenantID, commit: Commit) async throws -> Output {
        if writing {
            let turn = try await withCheckedThrowingContinuation { continuation in
                waiting.append(Waiting(item: item, tenant: tenant, continuation: continuation))
            }
            if case .written(let output) = turn { return output }
        }
        writing = true
        var others: [Waiting] = []
        var kept: [Waiting] = []
        for candidate in waiting {
            if candidate.tenant == tenant, others.count < maximumBatch - 1 { others.append(candidate) } else { kept.append(candidate) }
        }
        waiting = kept
        do {
            let outputs = try await commit([item] + others.map(\.item), tenant)
            for (other, output) in zip(others, outputs.dropFirst()) { other.continuation.resume(returning: .written(output)) }
            handOff()
            return outputs[0]
        } catch {
            for other in others { other.continuation.resume(throwing: error) }
            handOff()
            throw error
        }
    }

    private func handOff() {
        if waiting.isEmpty {
            writing = false
        } else {
            waiting.removeFirst().continuation.resume(returning: .lead)
        }
    }
}
