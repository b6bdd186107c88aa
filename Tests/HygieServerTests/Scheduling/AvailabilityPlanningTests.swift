import Core
import FHIR
import Foundation
import Records
import Scheduling
import Testing

/// Slot planning and the allergy check are pure: tested without a server.
@Suite struct AvailabilityPlanningTests {
    static func instant(_ text: String) -> Date {
        Date(timeIntervalSince1970: TimeInterval(FHIRDateTime.parse(text, grammar: .instant)!.range.lowerBound) / 1000)
    }

    @Test func slotsFollowLocalTimeAcrossTheSpringClockChange() throws {
        // Europe/Paris moves from UTC+1 to UTC+2 on Sunday 28 March 2027.
        let settings = AvailabilitySettings(
            appointmentTypes: [.init(code: "consultation", label: "Consultation", minutes: 30)],
            openingHours: [.init(weekday: 6, start: "09:00", end: "10:00", type: "consultation"), .init(weekday: 1, start: "09:00", end: "10:00", type: "consultation")],
            absences: [.init(start: "2027-04-05", end: "2027-04-05")], horizonDays: 11)
        let slots = try settings.slots(from: Self.instant("2027-03-26T00:00:00Z"))
        let starts = slots.map { FHIRDateTime.instantString(epochMillis: Int64($0.start.timeIntervalSince1970 * 1000)) }
        #expect(starts == [
            "2027-03-27T08:00:00.000Z", "2027-03-27T08:30:00.000Z",  // Saturday, winter time
            "2027-03-29T07:00:00.000Z", "2027-03-29T07:30:00.000Z",  // Monday, summer time
            "2027-04-03T07:00:00.000Z", "2027-04-03T07:30:00.000Z",
            "2027-04-05T07:00:00.000Z", "2027-04-05T07:30:00.000Z",
        ])
        #expect(slots.map(\.absent) == [false, false, false, false, false, false, true, true])
    }

    @Test func settingsAreValidated() {
        var settings = AvailabilitySettings(
            appointmentTypes: [.init(code: "consultation", label: "Consultation", minutes: 30)],
            openingHours: [.init(weekday: 1, start: "09:00", end: "12:00", type: "consultation")])
        #expect(throws: Never.self) { try settings.validate() }
        settings.openingHours.append(.init(weekday: 1, start: "11:00", end: "13:00", type: "consultation"))
        #expect(throws: ServiceError.self) { try settings.validate() }
        settings.openingHours = [.init(weekday: 8, start: "09:00", end: "12:00", type: "consultation")]
        #expect(throws: ServiceError.self) { try settings.validate() }
        settings.openingHours = [.init(weekday: 1, start: "9h", end: "12:00", type: "consultation")]
        #expect(throws: ServiceError.self) { try settings.validate() }
        settings.openingHours = [.init(weekday: 1, start: "09:00", end: "12:00", type: "unknown")]
        #expect(throws: ServiceError.self) { try settings.validate() }
        settings.openingHours = []
        settings.timeZone = "Mars/Olympus"
        #expect(throws: ServiceError.self) { try settings.validate() }
    }

    @Test func allergyCheckMatchesClassesCodesAndNames() {
        let allergies = [AllergyCheck.Allergy(name: "Pénicillines", atc: "J01C"), AllergyCheck.Allergy(name: "Aspirine", atc: nil)]
        #expect(AllergyCheck.conflicts(drug: "Amoxicilline", atc: "J01CA04", allergies: allergies).map(\.name) == ["Pénicillines"])
        #expect(AllergyCheck.conflicts(drug: "aspirine upsa 500", atc: nil, allergies: allergies).map(\.name) == ["Aspirine"])
        #expect(AllergyCheck.conflicts(drug: "Doliprane", atc: "N02BE01", allergies: allergies).isEmpty)
        // Too short a name never matches by accident.
        #expect(AllergyCheck.conflicts(drug: "Fe", atc: nil, allergies: [.init(name: "Fer", atc: nil)]).isEmpty)
    }
}
