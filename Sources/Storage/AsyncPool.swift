/// A fixed set of resources handed out one borrower at a time; borrowers wait in order when
/// all are busy. Used for SQLite connections, which run one statement at a time each.
actor AsyncPool<Resource: Sendable> {
    private var available: [Resource]
    private var waiters: [CheckedContinuation<Resource, Never>] = []

    init(_ resources: [Resource]) {
        self.available = resources
    }

    func checkout() async -> Resource {
        if let resource = available.popLast() { return resource }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func checkin(_ resource: Resource) {
        if waiters.isEmpty {
            available.append(resource)
        } else {
            waiters.removeFirst().resume(returning: resource)
        }
    }

    func drain() -> [Resource] {
        defer { available = [] }
        return available
    }
}

extension AsyncPool {
    nonisolated func with<T: Sendable>(_ body: (Resource) async throws -> T) async throws -> T {
        let resource = await checkout()
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
