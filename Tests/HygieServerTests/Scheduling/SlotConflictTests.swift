import FHIR
import Foundation
import HTTPTypes
import Testing

/// Slots never serve two appointments, and every conflict says why.
@Suite struct SlotConflictTests {
    @Test func aTakenSlotIsRefusedAndCancellationFreesIt() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let slot = try #require(try await f.freeSlots(f.doctorA, token: f.patientToken).first)
            let first = try await f.request(f.doctorA, slot: slot["id"]?.stringValue, token: f.patientToken)
            #expect(first.status == 201)
            #expect(try await f.freeSlots(f.doctorA, token: f.patientToken).first?["id"] != slot["id"])
            let second = try await f.request(f.doctorA, slot: slot["id"]?.stringValue, token: f.otherPatientToken)
            #expect(second.status == 409)
            #expect(second.json["code"]?.stringValue == "slot-taken")
            // Another physician's slot is not this one's.
            let wrongOwner = try await f.request(f.doctorA2, slot: slot["id"]?.stringValue, token: f.otherPatientToken)
            #expect(wrongOwner.status == 400)
            let cancel = try await f.api.call(.post, "/api/v1/appointments/\(first.json["id"]?.stringValue ?? "")/cancel", token: f.patientToken)
            #expect(cancel.status == 200)
            let retaken = try await f.request(f.doctorA, slot: slot["id"]?.stringValue, token: f.otherPatientToken)
            #expect(retaken.status == 201, "after cancellation: \(retaken.text)")
            // New hours withdraw the slots no longer planned, even one a cancelled appointment names.
            let abandoned = try #require(try await f.freeSlots(f.doctorA, token: f.patientToken).first?["id"]?.stringValue)
            let named = try await f.request(f.doctorA, slot: abandoned, token: f.patientToken)
            #expect(try await f.api.call(.post, "/api/v1/appointments/\(named.json["id"]?.stringValue ?? "")/cancel", token: f.patientToken).status == 200)
            var shorter = try #require(SchedulingFixture.hours.objectValue)
            shorter["appointment_types"] = [["code": "consultation", "label": "Consultation", "minutes": 20]]
            let republished = try await f.api.call(.put, "/api/v1/physicians/\(f.doctorA)/availability", .object(shorter), token: f.doctorAToken)
            #expect(republished.status == 200, "republish: \(republished.text)")
            let cancelledSlot = try await f.api.call(.get, "/fhir/Slot/\(slot["id"]?.stringValue ?? "")", token: f.patientToken)
            #expect(cancelledSlot.json["status"]?.stringValue == "busy-tentative", "the held slot stays: \(cancelledSlot.text)")
            let fresh = try await f.freeSlots(f.doctorA, token: f.patientToken)
            let lengths = Set(fresh.compactMap { slot -> Int64? in
                guard let start = FHIRDateTime.parse(slot["start"]?.stringValue ?? "", grammar: .instant), let end = FHIRDateTime.parse(slot["end"]?.stringValue ?? "", grammar: .instant) else { return nil }
                return (end.range.lowerBound - start.range.lowerBound) / 60_000
            })
            #expect(lengths == [20])
            let withdrawn = try await f.api.call(.get, "/fhir/Slot/\(abandoned)", token: f.patientToken)
            #expect(withdrawn.json["status"]?.stringValue == "entered-in-error", "withdrawn: \(withdrawn.text)")
        }
    }

    @Test func exactlyOneOfConcurrentRequestsForOneSlotWins() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let slot = try #require(try await f.freeSlots(f.doctorA, token: f.patientToken).first?["id"]?.stringValue)
            let tokens = [f.patientToken, f.otherPatientToken]
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for attempt in 0..<10 {
                    group.addTask { try await f.request(f.doctorA, slot: slot, token: tokens[attempt % 2]).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 1, "statuses: \(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 9, "statuses: \(statuses)")
            let queue = try await f.api.call(.get, "/api/v1/appointments?status=proposed&practitioner=\(f.doctorA)", token: f.secretaryA)
            #expect(queue.json["items"]?.arrayValue?.count == 1)
        }
    }

    @Test func aPatientIsNotBookedTwiceAtOverlappingTimes() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let slotA = try #require(try await f.freeSlots(f.doctorA, token: f.patientToken).first)
            let slotA2 = try #require(try await f.freeSlots(f.doctorA2, token: f.patientToken).first { $0["start"] == slotA["start"] })
            #expect(try await f.request(f.doctorA, slot: slotA["id"]?.stringValue, token: f.patientToken).status == 201)
            let overlapping = try await f.request(f.doctorA2, slot: slotA2["id"]?.stringValue, token: f.patientToken)
            #expect(overlapping.status == 409)
            #expect(overlapping.json["code"]?.stringValue == "patient-busy")
            #expect(try await f.request(f.doctorA2, slot: slotA2["id"]?.stringValue, token: f.otherPatientToken).status == 201)
        }
    }

    @Test func oneOfTwoSimultaneousOverlappingRequestsOfAPatientWins() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let slotsA = try await f.freeSlots(f.doctorA, token: f.patientToken)
            let slotsA2 = try await f.freeSlots(f.doctorA2, token: f.patientToken)
            // Five pairs of same-time slots with two physicians, each pair requested at once.
            for index in 0..<5 {
                let a = try #require(slotsA[index]["id"]?.stringValue)
                let b = try #require(slotsA2.first { $0["start"] == slotsA[index]["start"] }?["id"]?.stringValue)
                async let first = f.request(f.doctorA, slot: a, token: f.patientToken)
                async let second = f.request(f.doctorA2, slot: b, token: f.patientToken)
                let statuses = try await [first.status, second.status].sorted()
                #expect(statuses == [201, 409], "pair \(index): \(statuses)")
            }
        }
    }

    @Test func absencesCloseSlotsAndProtectBookedAppointments() async throws {
        try await withTestApp { http in
            let f = try await SchedulingFixture.make(http)
            let slots = try await f.freeSlots(f.doctorA, token: f.patientToken, limit: 100)
            // A day at least two days ahead, in the schedule's time zone.
            let late = try #require(slots.last)
            let day = try #require(Self.parisDay(late["start"]?.stringValue))
            var settings = try #require(SchedulingFixture.hours.objectValue)
            settings["absences"] = [["start": .string(day), "end": .string(day), "reason": "Congrès"]]
            let saved = try await f.api.call(.put, "/api/v1/physicians/\(f.doctorA)/availability", .object(settings), token: f.doctorAToken)
            #expect(saved.status == 200, "absence: \(saved.text)")
            let open = try await f.freeSlots(f.doctorA, token: f.patientToken, limit: 100).compactMap { $0["id"]?.stringValue }
            #expect(!open.contains(late["id"]?.stringValue ?? ""))
            let absent = try await f.request(f.doctorA, slot: late["id"]?.stringValue, token: f.patientToken)
            #expect(absent.status == 409)
            #expect(absent.json["code"]?.stringValue == "physician-absent")

            // An absence over a booked appointment is refused until it is moved.
            let booked = try #require(slots.first)
            #expect(try await f.request(f.doctorA, slot: booked["id"]?.stringValue, token: f.patientToken).status == 201)
            let bookedDay = try #require(Self.parisDay(booked["start"]?.stringValue))
            settings["absences"] = [["start": .string(bookedDay), "end": .string(bookedDay)]]
            let refused = try await f.api.call(.put, "/api/v1/physicians/\(f.doctorA)/availability", .object(settings), token: f.doctorAToken)
            #expect(refused.status == 409)
            #expect(refused.json["code"]?.stringValue == "booked-during-absence")

            // Overlapping opening hours are refused: slots of one physician never overlap.
            var overlapping = try #require(SchedulingFixture.hours.objectValue)
            overlapping["opening_hours"] = [
                ["weekday": 1, "start": "09:00", "end": "12:00", "type": "consultation"],
                ["weekday": 1, "start": "11:30", "end": "13:00", "type": "consultation"],
            ]
            let clash = try await f.api.call(.put, "/api/v1/physicians/\(f.doctorA)/availability", .object(overlapping), token: f.doctorAToken)
            #expect(clash.status == 422)
            // Only the physician or a secretary of their hospital publishes.
            #expect(try await f.api.call(.put, "/api/v1/physicians/\(f.doctorA)/availability", SchedulingFixture.hours, token: f.secretaryB).status == 403)
            #expect(try await f.api.call(.put, "/api/v1/physicians/\(f.doctorA)/availability", SchedulingFixture.hours, token: f.doctorA2Token).status == 403)
            #expect(try await f.api.call(.put, "/api/v1/physicians/\(f.doctorA)/availability", SchedulingFixture.hours, token: f.patientToken).status == 403)
        }
    }

    static func parisDay(_ instant: String?) -> String? {
        guard let instant, let millis = FHIRDateTime.parse(instant, grammar: .instant)?.range.lowerBound else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Paris")!
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(millis) / 1000))
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
