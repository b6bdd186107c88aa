/// The FHIRPath subset that the R4 search parameter expressions use: paths, `|`, `[n]`,
/// `as`/`is` (operators and functions), `where`, `exists`, `resolve`, `first`, `empty`,
/// `not`, `=`, `!=`, `and`, `or`, string and boolean literals (FHIRPath N1 §5–§6).
public indirect enum FHIRPathExpression: Sendable, Equatable {
    /// The input collection (`$this`), implicit at the start of a path.
    case this
    case member(FHIRPathExpression, String)
    case index(FHIRPathExpression, Int)
    case function(FHIRPathExpression, String, [FHIRPathExpression])
    case asType(FHIRPathExpression, String)
    case isType(FHIRPathExpression, String)
    case union(FHIRPathExpression, FHIRPathExpression)
    case equals(FHIRPathExpression, FHIRPathExpression, negated: Bool)
    case and(FHIRPathExpression, FHIRPathExpression)
    case or(FHIRPathExpression, FHIRPathExpression)
    case string(String)
    case boolean(Bool)
    case number(String)
}

public struct FHIRPathSyntaxError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Recursive-descent parser with the FHIRPath operator precedence (N1 §6.7): path and
/// indexer bind tightest, then `is`/`as`, then `|`, then `=`/`!=`, then `and`, then `or`.
public struct FHIRPathParser {
    enum Token: Equatable {
        case identifier(String)
        case string(String)
        case number(String)
        case symbol(String)
    }

    var tokens: [Token]
    var position = 0

    public static func parse(_ text: String) throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        var parser = FHIRPathParser(tokens: try tokenize(text))
        let expression = try parser.parseOr()
        guard parser.position == parser.tokens.count else {
            throw FHIRPathSyntaxError(message: "unexpected token in '\(text)'")
        }
        return expression
    }

    static func tokenize(_ text: String) throws(FHIRPathSyntaxError) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text)
        var index = 0
        while index < chars.count {
            let char = chars[index]
            if char.isWhitespace {
                index += 1
            } else if char.isLetter || char == "_" || char == "$" {
                var end = index + 1
                while end < chars.count, chars[end].isLetter || chars[end].isNumber || chars[end] == "_" { end += 1 }
                tokens.append(.identifier(String(chars[index..<end])))
                index = end
            } else if char == "`" {
                guard let end = chars[(index + 1)...].firstIndex(of: "`") else {
                    throw FHIRPathSyntaxError(message: "unterminated delimited identifier")
                }
                tokens.append(.identifier(String(chars[(index + 1)..<end])))
                index = end + 1
            } else if char.isNumber {
                var end = index + 1
                while end < chars.count, chars[end].isNumber || chars[end] == "." { end += 1 }
                tokens.append(.number(String(chars[index..<end])))
                index = end
            } else if char == "'" {
                var value = ""
                var end = index + 1
                while end < chars.count, chars[end] != "'" {
                    if chars[end] == "\\", end + 1 < chars.count {
                        end += 1
                    }
                    value.append(chars[end])
                    end += 1
                }
                guard end < chars.count else { throw FHIRPathSyntaxError(message: "unterminated string literal") }
                tokens.append(.string(value))
                index = end + 1
            } else if char == "!", index + 1 < chars.count, chars[index + 1] == "=" {
                tokens.append(.symbol("!="))
                index += 2
            } else if "().[]|=,".contains(char) {
                tokens.append(.symbol(String(char)))
                index += 1
            } else {
                throw FHIRPathSyntaxError(message: "unsupported character '\(char)'")
            }
        }
        return tokens
    }

    mutating func peek() -> Token? { position < tokens.count ? tokens[position] : nil }

    mutating func accept(_ symbol: String) -> Bool {
        if peek() == .symbol(symbol) || peek() == .identifier(symbol) {
            position += 1
            return true
        }
        return false
    }

    mutating func expect(_ symbol: String) throws(FHIRPathSyntaxError) {
        guard accept(symbol) else { throw FHIRPathSyntaxError(message: "expected '\(symbol)'") }
    }

    mutating func identifier() throws(FHIRPathSyntaxError) -> String {
        guard case .identifier(let name) = peek() else { throw FHIRPathSyntaxError(message: "expected an identifier") }
        position += 1
        return name
    }

    mutating func parseOr() throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        var left = try parseAnd()
        while accept("or") { left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        var left = try parseEquality()
        while accept("and") { left = .and(left, try parseEquality()) }
        return left
    }

    mutating func parseEquality() throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        let left = try parseUnion()
        if accept("=") { return .equals(left, try parseUnion(), negated: false) }
        if accept("!=") { return .equals(left, try parseUnion(), negated: true) }
        return left
    }

    mutating func parseUnion() throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        var left = try parseType()
        while accept("|") { left = .union(left, try parseType()) }
        return left
    }

    mutating func parseType() throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        var left = try parsePostfix()
        while true {
            if accept("as") {
                left = .asType(left, try typeName())
            } else if accept("is") {
                left = .isType(left, try typeName())
            } else {
                return left
            }
        }
    }

    mutating func typeName() throws(FHIRPathSyntaxError) -> String {
        var name = try identifier()
        // `FHIR.Patient` names the type in the FHIR namespace.
        if name == "FHIR" || name == "System", accept(".") { name = try identifier() }
        return name
    }

    mutating func parsePostfix() throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        var expression = try parsePrimary()
        while true {
            if accept(".") {
                expression = try invocation(on: expression)
            } else if accept("[") {
                guard case .number(let text) = peek(), let value = Int(text) else {
                    throw FHIRPathSyntaxError(message: "expected an integer index")
                }
                position += 1
                try expect("]")
                expression = .index(expression, value)
            } else {
                return expression
            }
        }
    }

    mutating func parsePrimary() throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        switch peek() {
        case .symbol("("):
            position += 1
            let inner = try parseOr()
            try expect(")")
            return inner
        case .string(let value):
            position += 1
            return .string(value)
        case .number(let value):
            position += 1
            return .number(value)
        case .identifier("true"):
            position += 1
            return .boolean(true)
        case .identifier("false"):
            position += 1
            return .boolean(false)
        case .identifier("$this"):
            position += 1
            return .this
        case .identifier:
            return try invocation(on: .this)
        default:
            throw FHIRPathSyntaxError(message: "unexpected end of expression")
        }
    }

    mutating func invocation(on target: FHIRPathExpression) throws(FHIRPathSyntaxError) -> FHIRPathExpression {
        let name = try identifier()
        guard accept("(") else { return .member(target, name) }
        var arguments: [FHIRPathExpression] = []
        if !accept(")") {
            repeat {
                arguments.append(try parseOr())
            } while accept(",")
            try expect(")")
        }
        switch name {
        case "as", "ofType":
            guard arguments.count == 1, case .member(.this, let type) = arguments[0] else {
                throw FHIRPathSyntaxError(message: "\(name)() takes a type name")
            }
            return .asType(target, type)
        case "is":
            guard arguments.count == 1, case .member(.this, let type) = arguments[0] else {
                throw FHIRPathSyntaxError(message: "is() takes a type name")
            }
            return .isType(target, type)
        case "where", "exists", "resolve", "first", "empty", "not", "extension":
            return .function(target, name, arguments)
        default:
            throw FHIRPathSyntaxError(message: "function \(name)() is not supported")
        }
    }
}
