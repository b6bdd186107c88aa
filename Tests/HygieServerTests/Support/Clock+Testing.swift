import Core
import FHIR
import Foundation

enum FixedWallClockBox {
    /// A fixed clock at an instant given in FHIR form.
    static func make(_ instant: String) -> FixedWallClock {
        let millis = FHIRDateTime.parse(instant, grammar: .instant)!.range.lowerBound
        return FixedWallClock(Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}
