import Core
import Foundation
import Logging
import Storage
import Synchronization

/// A least-recently-used cache of byte values bounded by their total size: series metadata and
/// rendered thumbnails, which are read far more often than they change.
final class ByteCache: Sendable {
    private struct State {
        var values: [String: (bytes: [UInt8], tick: UInt64)] = [:]
        var size = 0
        var tick: UInt64 = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: String) -> [UInt8]? {
        state.withLock { state in
            guard let entry = state.values[key] else { return nil }
            state.tick += 1
            state.values[key] = (entry.bytes, state.tick)
            return entry.bytes
        }
    }

    func set(_ key: String, _ bytes: [UInt8]) {
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

    /// Drops every entry whose key starts with `prefix` (a study changed).
    func invalidate(prefix: String) {
        state.withLock { state in
            for key in state.values.keys where key.hasPrefix(prefix) {
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
