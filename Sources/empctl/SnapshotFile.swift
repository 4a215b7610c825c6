import ArgumentParser
import EMPModel
import Foundation

/// Reads and writes the JSON files of the `whatif` commands, with errors that name the file and the field.
enum SnapshotFile {
    /// Decodes `path` and runs `validate` on it; every failure is an ``InputError`` naming the file and the field.
    static func read<T: Decodable>(_ type: T.Type, from path: String, validate: (T) throws -> Void = { _ in }) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, field: nil, message: "cannot read \(path)")
        }
        do {
            let value = try JSONDecoder().decode(T.self, from: data)
            try validate(value)
            return value
        } catch let error as DecodingError {
            throw InputError(file: path, field: error.fieldPath.isEmpty ? nil : error.fieldPath, message: error.fieldDescription)
        } catch let error as EMPModel.ValidationError {
            throw InputError(file: path, field: error.field, message: error.description)
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// Left-aligned text tables, the way kubectl prints them.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        let widths = header.indices.map { column in rows.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }
}

/// A what-if file that cannot be used: which file, which field, and what is wrong.
struct InputError: Error, CustomStringConvertible {
    var file: String
    var field: String?
    var message: String

    var description: String { message.hasPrefix("cannot read") ? message : "\(file): \(message)" }
}

/// Runs a what-if command; with `-o json`, a failure is printed as JSON on standard output too
/// (`{"error": {"file", "field", "message"}}`) so a script reading the output learns why, and the exit status is
/// 64 for a bad file (as for a bad argument) and 1 otherwise.
enum WhatIfRun {
    static func run(_ format: OutputFormat, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as InputError {
            guard format == .json else { throw ValidationError(error.description) }
            print(try SnapshotFile.json(ErrorReply(error: .init(file: error.file, field: error.field, message: error.description))))
            throw ExitCode(64)
        } catch {
            guard format == .json, !(error is ExitCode) else { throw error }
            print(try SnapshotFile.json(ErrorReply(error: .init(file: nil, field: nil, message: "\(error)"))))
            throw ExitCode.failure
        }
    }

    /// The JSON form of a failure.
    struct ErrorReply: Encodable {
        struct Body: Encodable {
            var file: String?
            var field: String?
            var message: String
        }
        var error: Body
    }
}
