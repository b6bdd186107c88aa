/// A fixed set of resources handed out one borrower at a time; borrowers wait in order when
/// all are busy. Used for SQLite connections, which run one statement at a time each.
///
/// Closing refuses new borrowers but lets those already holding or waiting for a resource
/// finish: `close()` returns every resource once all are back, so that none is dropped while
/// a background task (a scheduled rewrite, an association's deferred work) still uses it.
actor AsyncPool<Resource: Sendable> {
    private var available: [Resource]
    private let total: Int
    private var waiters: [CheckedContinuation<Resource, Never>] = []
    private var closing = false
    private var closeWaiters: [CheckedContinuation<Void, Never>] = []

    init(_ resources: [Resource]) {
        self.available = resources
        self.total = resources.count
    }

    func checkout() async throws -> Resource {
        guard !closing else { throw StorageError.unavailable("the database is closed") }
        if let resource = available.popLast() { return resource }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func checkin(_ resource: Resource) {
        if waiters.isEmpty {
            available.append(resource)
            if closing, available.count == total {
                for waiter in closeWaiters { waiter.resume() }
                closeWaiters = []
            }
        } else {
            waiters.removeFirst().resume(returning: resource)
        }
    }

    /// Refuses new borrowers, waits until every resource is back, and hands them all over.
    /// A second call returns nothing: the first one took them.
    func close() async -> [Resource] {
        guard !closing else { return [] }
        closing = true
        if available.count < total {
            await withCheckedContinuation { closeWaiters.append($0) }
        }
        defer { available = [] }
        return available
    }
}

extension AsyncPool {
    nonisolated func with<T: Sendable>(_ body: (Resource) async throws -> T) async throws -> T {
        let resource = try await checkout()
        do {
            let result = try await body(resource)
            await checkin(resource)
            return result
        } catch {
            await checkin(resource)
            throw error
        }
    }
}
