import FHIR
import Foundation
import HTTPTypes
import Testing

/// Comments on a case (issue 6): @mentions notify, visibility hides, attachments are checked by content.
@Suite struct CaseCommentTests {
    @Test func aMentionedColleagueIsNotifiedAndVisibilityLimitsWhoReads() async throws {
        try await withTestApp { http in
            let f = try await RadiotherapyFixture.make(http)
            let api = f.api
            let id = try await f.openCase()

            // Autocomplete finds the department's staff by a part of their name, accents aside.
            let staff = try await api.call(.get, "/api/v1/pathways/staff?q=DOSI", token: f.technologist)
            #expect(staff.json["items"]?.arrayValue?.compactMap { $0["practitioner"]?.stringValue } == [f.dosimetristID])

            let posted = try await api.call(
                .post, "/api/v1/pathways/cases/\(id)/comments",
                ["text": "@dosi.a contraintes OAR à documenter", "mentions": [.string(f.dosimetristID)], "visibility": "team"], token: f.technologist)
            #expect(posted.status == 201, "comment: \(posted.text)")
            let notices = try await api.call(.get, "/api/v1/notifications", token: f.dosimetrist)
            let mention = notices.json["items"]?.arrayValue?.first { $0["code"]?.stringValue == "pathway-mention" }
            #expect(mention?["text"]?.stringValue?.contains("mentionné") == true)

            // A comment for physicists only: the physicist reads it, the dosimetrist does not,
            // and nobody outside the physicists may be mentioned in it.
            let pdf = Data("%PDF-1.4\n%%EOF\n".utf8).base64EncodedString()
            let restricted = try await api.call(
                .post, "/api/v1/pathways/cases/\(id)/comments",
                [
                    "text": "Écart de dose à vérifier", "visibility": "physicists",
                    "attachments": [["content_type": "application/pdf", "title": "mesure.pdf", "data": .string(pdf)]],
                ], token: f.physicist)
            #expect(restricted.status == 201, "restricted: \(restricted.text)")
            let readByPhysicist = try await api.call(.get, "/api/v1/pathways/cases/\(id)/comments", token: f.physicist)
            #expect(readByPhysicist.json["items"]?.arrayValue?.count == 2)
            #expect(readByPhysicist.json["items"]?.arrayValue?.last?["attachments"]?.arrayValue?.first?["content_type"]?.stringValue == "application/pdf")
            let readByDosimetrist = try await api.call(.get, "/api/v1/pathways/cases/\(id)/comments", token: f.dosimetrist)
            #expect(readByDosimetrist.json["items"]?.arrayValue?.count == 1)
            // The attachment downloads as it was sent, for those who may read the comment only.
            let comment = restricted.json["id"]?.stringValue ?? ""
            let download = try await api.call(.get, "/api/v1/pathways/cases/\(id)/comments/\(comment)/attachments/0", token: f.physicist)
            #expect(download.status == 200)
            #expect(download.headers[.contentType] == "application/pdf")
            #expect(download.body == Array("%PDF-1.4\n%%EOF\n".utf8))
            #expect(try await api.call(.get, "/api/v1/pathways/cases/\(id)/comments/\(comment)/attachments/0", token: f.dosimetrist).status == 404)
            #expect(try await api.call(.get, "/api/v1/pathways/cases/\(id)/comments/\(comment)/attachments/1", token: f.physicist).status == 404)
            let wrongMention = try await api.call(
                .post, "/api/v1/pathways/cases/\(id)/comments", ["text": "x", "visibility": "physicists", "mentions": [.string(f.dosimetristID)]],
                token: f.physicist)
            #expect(wrongMention.status == 400)

            // An attachment whose bytes are not what it claims is refused.
            let fake = try await api.call(
                .post, "/api/v1/pathways/cases/\(id)/comments",
                ["text": "image", "attachments": [["content_type": "image/png", "data": .string(Data("not a png".utf8).base64EncodedString())]]],
                token: f.technologist)
            #expect(fake.status == 415)
            // Someone outside the department cannot comment.
            #expect(try await api.call(.post, "/api/v1/pathways/cases/\(id)/comments", ["text": "x"], token: f.foreignTechnologist).status == 404)
        }
    }
}
