import Foundation
import NIOCore
import NIOPosix

/// A minimal SMTP client (RFC 5321) over SwiftNIO: one connection per message, EHLO, MAIL,
/// RCPT, DATA with dot-stuffing, QUIT. Plain TCP: point it at a relay on the same host or
/// network (STARTTLS needs NIOSSL, not a dependency yet).
public struct SMTPMailer: Mailer {
    public let host: String
    public let port: Int
    public let from: String
    /// Name announced in EHLO.
    public let domain: String

    public init(host: String, port: Int, from: String, domain: String = "hygie.local") {
        self.host = host
        self.port = port
        self.from = from
        self.domain = domain
    }

    public func send(_ message: MailMessage) async throws {
        for address in [from, message.to] where !Self.isAddress(address) { throw MailError.invalidAddress(address) }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    return try NIOAsyncChannel<String, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var lines = inbound.makeAsyncIterator()
            func reply(expecting code: String, after command: String) async throws {
                // Multi-line replies repeat the code with '-' until the last line ("250 ").
                while true {
                    guard let line = try await lines.next() else { throw MailError.connectionClosed }
                    guard line.hasPrefix(code) else { throw MailError.rejected(command: command, reply: line) }
                    if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return }
                }
            }
            func command(_ text: String, expecting code: String) async throws {
                try await outbound.write(ByteBuffer(string: text + "\r\n"))
                try await reply(expecting: code, after: text.split(separator: ":").first.map(String.init) ?? text)
            }
            try await reply(expecting: "220", after: "connect")
            try await command("EHLO \(domain)", expecting: "250")
            try await command("MAIL FROM:<\(from)>", expecting: "250")
            try await command("RCPT TO:<\(message.to)>", expecting: "250")
            try await command("DATA", expecting: "354")
            try await outbound.write(ByteBuffer(string: Self.encode(message, from: from, domain: domain) + ".\r\n"))
            try await reply(expecting: "250", after: "DATA")
            try await outbound.write(ByteBuffer(string: "QUIT\r\n"))
            _ = try? await lines.next()
        }
    }

    static func isAddress(_ address: String) -> Bool {
        let parts = address.split(separator: "@")
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && address.count <= 254
            && !address.contains(where: { $0 == "<" || $0 == ">" || $0 == "\r" || $0 == "\n" || $0 == " " })
    }

    /// The message as sent after DATA: headers (subject encoded per RFC 2047), a blank line,
    /// the body with lines starting with a dot doubled (RFC 5321 §4.5.2), CRLF line ends.
    static func encode(_ message: MailMessage, from: String, domain: String, date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let subject = "=?UTF-8?B?" + Data(message.subject.utf8).base64EncodedString() + "?="
        var text = "From: <\(from)>\r\nTo: <\(message.to)>\r\nSubject: \(subject)\r\nDate: \(formatter.string(from: date))\r\n"
        text += "Message-ID: <\(UUID().uuidString)@\(domain)>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        text += "Content-Transfer-Encoding: base64\r\n\r\n"
        let body = Data(message.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
        text += body.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]) + "\r\n"
        return text
    }
}

/// Splits the server's replies into lines (CRLF or LF).
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
        let length = newline - buffer.readerIndex + 1
        guard var line = buffer.readString(length: length) else { return .needMoreData }
        while line.last == "\n" || line.last == "\r" { line.removeLast() }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}
