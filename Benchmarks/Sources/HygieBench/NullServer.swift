import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP server that does no work: it reads each request to its end and answers with the
/// same prepared body. Benchmarks/client_floor.py points the imaging benchmark's clients at it
/// to measure what the clients themselves cost, the fastest any server could be answered.
struct NullServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "null-server",
        abstract: "Answer every HTTP request with the same prepared body (a client's floor).")

    @Option(help: "Port to listen on (127.0.0.1).")
    var port: Int

    @Option(help: "File whose bytes are the body of every answer.")
    var body: String

    @Option(name: .customLong("content-type"), help: "Content-Type of the answers.")
    var contentType: String

    @Option(help: "Send the body in chunks of this many bytes (Transfer-Encoding: chunked), as servers that stream do; default: one piece with Content-Length.")
    var chunk: Int?

    func run() async throws {
        guard let bytes = FileManager.default.contents(atPath: body) else {
            throw ValidationError("Cannot read \(body).")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        let whole = ByteBuffer(bytes: bytes)
        var pieces = [whole]
        if let chunk {
            guard chunk > 0 else { throw ValidationError("The chunk size must be positive.") }
            headers.add(name: "Transfer-Encoding", value: "chunked")
            pieces = stride(from: 0, to: bytes.count, by: chunk).map { whole.getSlice(at: $0, length: min(chunk, bytes.count - $0))! }
        } else {
            headers.add(name: "Content-Length", value: String(bytes.count))
        }
        let answer = CannedAnswer(headers: headers, pieces: pieces)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CannedResponder(answer))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        print("listening on 127.0.0.1:\(port)")
        try await channel.closeFuture.get()
    }
}

struct CannedAnswer: Sendable {
    var headers: HTTPHeaders
    /// The body, in the pieces it is written in (one, or the chunks).
    var pieces: [ByteBuffer]
}

/// Answers each request once its last part has arrived; the body it sent is dropped unread.
final class CannedResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let answer: CannedAnswer

    init(_ answer: CannedAnswer) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: answer.headers))), promise: nil)
        for piece in answer.pieces { context.write(wrapOutboundOut(.body(.byteBuffer(piece))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
