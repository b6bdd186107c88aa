import Foundation

/// Latencies and counts of one scenario, and the line that reports them.
struct Measurement {
    var latencies: [Double] = []
    var errors = 0
    var items = 0
    var elapsed: Double = 0

    mutating func merge(_ other: Measurement) {
        latencies += other.latencies
        errors += other.errors
        items += other.items
    }

    func percentile(_ fraction: Double) -> Double {
        guard !latencies.isEmpty else { return 0 }
        let sorted = latencies.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))
        return sorted[index]
    }

    static let header = "scenario                 requests  errors     req/s    items/s   p50 ms   p95 ms   p99 ms   max ms"

    func line(_ name: String) -> String {
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        func ms(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1000) }
        let rate = elapsed > 0 ? Double(latencies.count) / elapsed : 0
        let itemRate = elapsed > 0 ? Double(items) / elapsed : 0
        return name.padding(toLength: 22, withPad: " ", startingAt: 0)
            + pad(String(latencies.count), 10) + pad(String(errors), 8) + pad(String(format: "%.0f", rate), 10)
            + pad(String(format: "%.0f", itemRate), 11) + pad(ms(percentile(0.5)), 9) + pad(ms(percentile(0.95)), 9)
            + pad(ms(percentile(0.99)), 9) + pad(ms(latencies.max() ?? 0), 9)
    }
}

func now() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}
