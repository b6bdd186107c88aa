import Core
import Foundation
import Logging
import Storage
import Synchronization

/// What a cache entry is: every entry belongs to one study of one tenant (a series' metadata,
/// an instance's frames and renders), so that a change to the study drops all of its entries.
struct StudyCacheKey: Hashable, Sendable {
    var tenant: TenantID
    var study: String
    /// Which of the study's entries, its parts joined by "|".
    var entry: String

    init(tenant: TenantID, study: String, _ parts: String...) {
        self.tenant = tenant
        self.study = study
        entry = parts.joined(separator: "|")
    }
}

/// A least-recently-used cache of byte values bounded by their total size: series metadata,
/// frames and rendered images, which are read far more often than they change.
final class ByteCache: Sendable {
    private struct State {
        var values: [StudyCacheKey: (bytes: [UInt8], tick: UInt64)] = [:]
        var size = 0
        var tick: UInt64 = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: StudyCacheKey) -> [UInt8]? {
        state.withLock { state in
            guard let entry = state.values[key] else { return nil }
            state.tick += 1
            state.values[key] = (entry.bytes, state.tick)
            return entry.bytes
        }
    }

    func set(_ key: StudyCacheKey, _ bytes: [UInt8]) {
        guard bytes.count <= capacity / 4 else { return }
        state.withLock { state in
            state.tick += 1
            if let old = state.values[key] { state.size -= old.bytes.count }
            state.values[key] = (bytes, state.tick)
            state.size += bytes.count
            while state.size > capacity, let oldest = state.values.min(by: { $0.value.tick < $1.value.tick }) {
                state.values[oldest.key] = nil
                state.size -= oldest.value.bytes.count
            }
        }
    }

    /// Drops every entry of the study (its instances changed).
    func invalidate(study: String, tenant: TenantID) {
        state.withLock { state in
            for key in state.values.keys where key.study == study && key.tenant == tenant {
                state.size -= state.values[key]?.bytes.count ?? 0
                state.values[key] = nil
            }
        }
    }
}

/// Reads of images are audited once per account, study and five minutes: a viewer fetching
/// hundreds of frames of a study leaves one "DICOM Instances Accessed" event, not hundreds.
final class AccessAuditWindow: Sendable {
    let clock: any WallClock
    static let window: Double = 300
    private let recent = Mutex<[String: Double]>([:])

    init(clock: any WallClock) { self.clock = clock }

    /// Whether this access must be recorded now (and remembers that it was).
    func shouldRecord(account: String, study: String, action: String) -> Bool {
        let now = clock.now().timeIntervalSince1970
        let key = "\(account)|\(study)|\(action)"
        return recent.withLock { recent in
            if let last = recent[key], now - last < Self.window { return false }
            if recent.count > 10_000 { recent = recent.filter { now - $0.value < Self.window } }
            recent[key] = now
            return true
        }
    }
}
