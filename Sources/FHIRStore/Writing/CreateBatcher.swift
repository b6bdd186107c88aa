import Core
import FHIR

/// Group commit for plain creates (server-assigned id, no condition).
///
/// Creates that arrive while a batch is being written wait and are written together in the
/// next transaction: a few multi-row statements and one commit for all of them, instead of
/// about ten statements and a commit each. Every caller gets its answer only after the commit
/// that holds its resource. There is no background task: the caller that finds nobody writing
/// leads a batch, then hands the lead to the oldest waiter.
actor CreateBatcher {
    enum Turn: Sendable {
        case written(StoredResource)
        case lead
    }

    struct Waiting {
        let write: PreparedWrite
        let tenant: TenantID
        let continuation: CheckedContinuation<Turn, any Error>
    }

    static let maximumBatch = 200
    private var waiting: [Waiting] = []
    private var writing = false

    func create(_ write: PreparedWrite, tenant: TenantID, store: FHIRStore) async throws -> StoredResource {
        if writing {
            let turn = try await withCheckedThrowingContinuation { continuation in
                waiting.append(Waiting(write: write, tenant: tenant, continuation: continuation))
            }
            if case .written(let stored) = turn { return stored }
        }
        writing = true
        var others: [Waiting] = []
        var kept: [Waiting] = []
        for candidate in waiting {
            if candidate.tenant == tenant, others.count < Self.maximumBatch - 1 { others.append(candidate) } else { kept.append(candidate) }
        }
        waiting = kept
        do {
            let stored = try await store.write(as: .system(tenant)) { context in
                try await store.insertNew([write] + others.map(\.write), method: "POST", in: context)
            }
            for (other, resource) in zip(others, stored.dropFirst()) { other.continuation.resume(returning: .written(resource)) }
            handOff()
            return stored[0]
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
