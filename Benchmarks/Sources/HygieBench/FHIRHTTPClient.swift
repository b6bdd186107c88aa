import AsyncHTTPClient
import FHIR
import Foundation
import NIOCore
import NIOHTTP1

/// A thin FHIR JSON client over AsyncHTTPClient, one connection per concurrent worker. Sends
/// the Bearer token in `HYGIE_TOKEN` (Benchmarks/run.sh gets one for a backend client).
struct FHIRHTTPClient {
    let client: HTTPClient
    let base: String
    let token = ProcessInfo.processInfo.environment["HYGIE_TOKEN"]

    init(base: String, connections: Int) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        configuration.decompression = .disabled
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// Sends a request; returns status and body.
    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/fhir+json", prefer: String? = nil) async throws -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/fhir+json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let prefer { request.headers.add(name: "Prefer", value: prefer) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(120))
        let buffer = try await response.body.collect(upTo: 256 * 1024 * 1024)
        return (Int(response.status.code), Array(buffer.readableBytesView))
    }

    func json(_ path: String) async throws -> JSON {
        let (status, body) = try await send(.GET, path)
        guard status == 200 else { throw BenchError.http(status, String(decoding: body.prefix(300), as: UTF8.self)) }
        return try JSONParser.parse(body)
    }
}

enum BenchError: Error, CustomStringConvertible {
    case http(Int, String)
    case noData(String)

    var description: String {
        switch self {
        case .http(let status, let body): "HTTP \(status): \(body)"
        case .noData(let what): what
        }
    }
}
