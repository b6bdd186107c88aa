import Core
import Foundation
import Synchronization

/// Increasing delays after failed sign-ins, per account and per address: the first three
/// failures cost nothing, then each doubles the wait (2 s, 4 s, … up to 15 min). A success
/// clears the account's count. Kept in memory: each process throttles what it sees.
final class LoginThrottle: Sendable {
    struct Record {
        var failures: Int
        var blockedUntil: Date
    }

    static let freeFailures = 3
    static let longestDelay: TimeInterval = 15 * 60

    let clock: any WallClock
    private let records = Mutex<[String: Record]>([:])

    init(clock: any WallClock) {
        self.clock = clock
    }

    /// Seconds to wait before another attempt with this account or from this address.
    func wait(account: String, address: String?) -> Int? {
        let now = clock.now()
        let keys = ["account:" + account] + (address.map { ["address:" + $0] } ?? [])
        let until = records.withLock { records in keys.compactMap { records[$0]?.blockedUntil }.max() }
        guard let until, until > now else { return nil }
        return Int(until.timeIntervalSince(now).rounded(.up))
    }

    func failed(account: String, address: String?) {
        let now = clock.now()
        records.withLock { records in
            for key in ["account:" + account] + (address.map { ["address:" + $0] } ?? []) {
                var record = records[key] ?? Record(failures: 0, blockedUntil: now)
                record.failures += 1
                if record.failures > Self.freeFailures {
                    let delay = min(Self.longestDelay, pow(2, Double(record.failures - Self.freeFailures)))
                    record.blockedUntil = now.addingTimeInterval(delay)
                }
                records[key] = record
            }
        }
    }

    func succeeded(account: String) {
        _ = records.withLock { $0.removeValue(forKey: "account:" + account) }
    }
}
