import Foundation

/// JSON Patch (RFC 6902) over `JSON`, with JSON Pointer paths (RFC 6901), as FHIR R4 uses it
/// for the patch interaction (§3.1.0.6).
public struct JSONPatch: Sendable {
    public enum Operation: Sendable, Equatable {
        case add(path: [String], value: JSON)
        case remove(path: [String])
        case replace(path: [String], value: JSON)
        case move(from: [String], path: [String])
        case copy(from: [String], path: [String])
        case test(path: [String], value: JSON)
    }

    public let operations: [Operation]

    public init(operations: [Operation]) {
        self.operations = operations
    }

    /// Reads a patch document: a JSON array of operation objects.
    public init(_ document: JSON) throws(FHIRError) {
        guard case .array(let items) = document else {
            throw .invalid("A JSON Patch document is a JSON array of operations.")
        }
        guard !items.isEmpty else { throw .invalid("The JSON Patch document has no operations.") }
        var operations: [Operation] = []
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item, case .string(let op)? = object["op"] else {
                throw .invalid("Patch operation \(index) must be an object with an \"op\" member.")
            }
            func pointer(_ key: String) throws(FHIRError) -> [String] {
                guard case .string(let text)? = object[key] else {
                    throw .invalid("Patch operation \(index) (\(op)) needs a \"\(key)\" JSON Pointer.")
                }
                return try Self.parsePointer(text)
            }
            func value() throws(FHIRError) -> JSON {
                guard let value = object["value"] else { throw .invalid("Patch operation \(index) (\(op)) needs a \"value\".") }
                return value
            }
            switch op {
            case "add": operations.append(.add(path: try pointer("path"), value: try value()))
            case "remove": operations.append(.remove(path: try pointer("path")))
            case "replace": operations.append(.replace(path: try pointer("path"), value: try value()))
            case "move": operations.append(.move(from: try pointer("from"), path: try pointer("path")))
            case "copy": operations.append(.copy(from: try pointer("from"), path: try pointer("path")))
            case "test": operations.append(.test(path: try pointer("path"), value: try value()))
            default: throw .invalid("Unknown JSON Patch operation \"\(op)\" (add, remove, replace, move, copy or test).")
            }
        }
        self.operations = operations
    }

    static func parsePointer(_ text: String) throws(FHIRError) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw .invalid("JSON Pointer \"\(text)\" must start with '/'.") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func render(_ path: [String]) -> String {
        path.isEmpty ? "" : "/" + path.joined(separator: "/")
    }

    /// Applies every operation in order; any failure leaves the input untouched.
    public func apply(to document: JSON) throws(FHIRError) -> JSON {
        var result = document
        for operation in operations {
            switch operation {
            case .add(let path, let value): result = try Self.add(value, at: path, in: result)
            case .remove(let path): result = try Self.remove(at: path, in: result).document
            case .replace(let path, let value):
                _ = try Self.get(path, in: result)
                result = try Self.add(value, at: path, in: try Self.remove(at: path, in: result).document, replacing: true)
            case .move(let from, let path):
                if path.count > from.count, Array(path.prefix(from.count)) == from {
                    throw .invalid("Cannot move \(Self.render(from)) into one of its own children.")
                }
                let removed = try Self.remove(at: from, in: result)
                result = try Self.add(removed.value, at: path, in: removed.document)
            case .copy(let from, let path):
                result = try Self.add(try Self.get(from, in: result), at: path, in: result)
            case .test(let path, let value):
                guard try Self.get(path, in: result) == value else {
                    throw FHIRError(status: 422, .processing, "JSON Patch test failed at \(Self.render(path)).")
                }
            }
        }
        return result
    }

    static func get(_ path: [String], in document: JSON) throws(FHIRError) -> JSON {
        var current = document
        for token in path {
            switch current {
            case .object(let object):
                guard let next = object[token] else { throw .invalid("Path \(render(path)) does not exist.") }
                current = next
            case .array(let array):
                guard let index = Int(token), index >= 0, index < array.count else {
                    throw .invalid("Path \(render(path)) does not exist.")
                }
                current = array[index]
            default:
                throw .invalid("Path \(render(path)) does not exist.")
            }
        }
        return current
    }

    static func add(_ value: JSON, at path: [String], in document: JSON, replacing: Bool = false) throws(FHIRError) -> JSON {
        guard let token = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var object):
            if rest.isEmpty {
                object[token] = value
            } else {
                guard let child = object[token] else { throw .invalid("Path \(render(path)) does not exist.") }
                object[token] = try add(value, at: rest, in: child, replacing: replacing)
            }
            return .object(object)
        case .array(var array):
            if rest.isEmpty {
                if token == "-", !replacing {
                    array.append(value)
                } else {
                    guard let index = Int(token), index >= 0, index <= array.count else {
                        throw .invalid("Array index \(token) is out of range.")
                    }
                    array.insert(value, at: index)
                }
            } else {
                guard let index = Int(token), index >= 0, index < array.count else {
                    throw .invalid("Array index \(token) is out of range.")
                }
                array[index] = try add(value, at: rest, in: array[index], replacing: replacing)
            }
            return .array(array)
        default:
            throw .invalid("Path \(render(path)) does not exist.")
        }
    }

    static func remove(at path: [String], in document: JSON) throws(FHIRError) -> (document: JSON, value: JSON) {
        guard let token = path.first else { throw .invalid("The whole document cannot be removed.") }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var object):
            guard let child = object[token] else { throw .invalid("Path \(render(path)) does not exist.") }
            if rest.isEmpty {
                object[token] = nil
                return (.object(object), child)
            }
            let removed = try remove(at: rest, in: child)
            object[token] = removed.document
            return (.object(object), removed.value)
        case .array(var array):
            guard let index = Int(token), index >= 0, index < array.count else {
                throw .invalid("Array index \(token) is out of range.")
            }
            if rest.isEmpty {
                let value = array.remove(at: index)
                return (.array(array), value)
            }
            let removed = try remove(at: rest, in: array[index])
            array[index] = removed.document
            return (.array(array), removed.value)
        default:
            throw .invalid("Path \(render(path)) does not exist.")
        }
    }
}
