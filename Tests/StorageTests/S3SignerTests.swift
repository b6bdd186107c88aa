import Core
import Foundation
import Storage
import Testing

/// Signature Version 4 against the examples of the Amazon S3 API reference ("Authenticating
/// Requests: AWS Signature Version 4"), whose credentials and expected signatures are published.
@Suite struct S3SignerTests {
    let signer = S3Signer(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    /// 2013-05-24T00:00:00Z, the examples' time.
    let time = Date(timeIntervalSince1970: 1_369_353_600)
    let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test func aGetWithARangeIsSignedInItsHeaders() {
        let headers = signer.headers(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", headers: [("range", "bytes=0-9")],
            payloadHash: emptyHash, at: time)
        let authorization = headers.first { $0.0 == "authorization" }?.1
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers.contains { $0 == ("x-amz-date", "20130524T000000Z") })
    }

    @Test func aPresignedGetMatchesThePublishedURL() {
        let query = signer.presignedQuery(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 86400, at: time)
        #expect(
            query
                == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func anyChangeToTheRequestChangesTheSignature() {
        func signature(_ query: String) -> Substring { query.split(separator: "=").last! }
        let reference = signer.presignedQuery(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 86400, at: time)
        let variants = [
            signer.presignedQuery(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test2.txt", expires: 86400, at: time),
            signer.presignedQuery(method: "PUT", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 86400, at: time),
            signer.presignedQuery(method: "GET", host: "otherbucket.s3.amazonaws.com", path: "/test.txt", expires: 86400, at: time),
            signer.presignedQuery(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 60, at: time),
            S3Signer(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "another", region: "us-east-1")
                .presignedQuery(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 86400, at: time),
        ]
        for variant in variants { #expect(signature(variant) != signature(reference)) }
    }

    @Test func encodingKeepsOnlyUnreservedCharacters() {
        #expect(S3Signer.encode("a b/c~d_e.f-g") == "a%20b%2Fc~d_e.f-g")
        #expect(S3Signer.encode("/bucket/é x", keepingSlashes: true) == "/bucket/%C3%A9%20x")
        #expect(S3Signer.encode("attachment; filename=\"a.dcm\"") == "attachment%3B%20filename%3D%22a.dcm%22")
    }

    @Test func blobKeysAreRelativePathsOfSafeCharacters() {
        for key in ["patients/p1/studies/1.2.3/series/4.5/6.7.dcm", "a", "A-Z_0.9", ".hidden", "a/.../b", "a.."] {
            #expect(BlobKey.isValid(key), "\(key)")
        }
        for key in ["", "/", "/abs", "a//b", "a/../b", "./a", "a/.", "..", ".", "a/..", "a/", "a b", "a\\b", "é", "a\u{0}b", "a/b\n"] { #expect(!BlobKey.isValid(key), "\(key)") }
    }

    @Test func aMisconfiguredStoreIsRefusedWithItsReason() {
        func reason(_ settings: S3Settings) -> String? {
            do {
                _ = try S3BlobStore(settings: settings, clock: SystemWallClock())
                return nil
            } catch { return "\(error)" }
        }
        #expect(reason(S3Settings(endpoint: "ftp://store", bucket: "hygie", accessKey: "a", secretKey: "b"))?.contains("http(s)://") == true)
        #expect(reason(S3Settings(endpoint: "http://store:9000/path", bucket: "hygie", accessKey: "a", secretKey: "b"))?.contains("without a path") == true)
        #expect(reason(S3Settings(endpoint: "http://store:9000", bucket: "Hygie_Images", accessKey: "a", secretKey: "b"))?.contains("bucket") == true)
        #expect(reason(S3Settings(endpoint: "http://store:9000", bucket: "hygie", accessKey: "", secretKey: "b"))?.contains("access key") == true)
        #expect(reason(S3Settings(endpoint: "http://127.0.0.1:9000/", bucket: "hygie", accessKey: "a", secretKey: "b")) == nil)
    }
}
