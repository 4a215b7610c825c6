import Foundation
import Kube
import Testing

/// The byte-level JSON reader and writer behind watch streams and admission reviews: the same values
/// `JSONSerialization` gives, and its refusals.
@Suite struct JSONBytesTests {
    @Test func numbersKeepTheirKind() throws {
        let value = try JSONValue.parse(
            Data(
                #"{"i": 42, "n": -7, "f": 1.5, "e": 1e3, "one": 1.0, "big": 9223372036854775808, "min": -9223372036854775808, "t": true, "z": null}"#
                    .utf8))
        #expect(value["i"] == .int(42))
        #expect(value["n"] == .int(-7))
        #expect(value["f"] == .double(1.5))
        #expect(value["e"] == .double(1000))
        #expect(value["one"] == .double(1))
        #expect(value["big"] == .double(9_223_372_036_854_775_808))
        #expect(value["min"] == .int(.min))
        #expect(value["t"] == .bool(true))
        #expect(value["z"] == .null)
    }

    @Test func stringsAreUnescaped() throws {
        let text = #"["plain", "a\"b\\c\/d", "\n\t\r\b\f", "\u00e9\u4e2d", "\ud83d\ude00", "é中😀"]"#
        let value = try JSONValue.parse(Data(text.utf8))
        #expect(value.arrayValue?.compactMap(\.stringValue) == ["plain", "a\"b\\c/d", "\n\t\r\u{8}\u{c}", "é中", "😀", "é中😀"])
    }

    @Test func whatJSONSerializationReadsReadsTheSame() throws {
        let samples = [
            #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","labels":{"app":"x"}},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"100m"}}}],"priority":-5,"ratio":0.25}}"#,
            #"[1, 2.5, "x", [], {}, [null, false]]"#, #""top-level string""#, "12",
        ]
        for sample in samples {
            let ours = try JSONValue.parse(Data(sample.utf8))
            let theirs = try JSONSerialization.jsonObject(with: Data(sample.utf8), options: [.fragmentsAllowed])
            let again = try JSONSerialization.jsonObject(with: try ours.serialized(), options: [.fragmentsAllowed])
            #expect(NSDictionary(dictionary: ["v": theirs]).isEqual(to: ["v": again]), "\(sample)")
        }
    }

    @Test func writesCompactSortedJSON() throws {
        let value = JSONValue.object([
            "b": .array([.int(1), .double(2.5), .double(3), .null]), "a": .string("x/\"y\"\n\u{1}"), "c": .bool(false),
        ])
        #expect(String(decoding: try value.serialized(), as: UTF8.self) == #"{"a":"x/\"y\"\n\u0001","b":[1,2.5,3,null],"c":false}"#)
        #expect(
            try JSONValue.parse(try value.serialized())
                == .object(["a": .string("x/\"y\"\n\u{1}"), "b": .array([.int(1), .double(2.5), .int(3), .null]), "c": .bool(false)]))
    }

    @Test func malformedDocumentsAreRefused() {
        let bad = [
            "", "{", #"{"a" 1}"#, #"{"a":1,}"#, "[1,]", "[1 2]", "01", "1.", "-", "1e", "tru", #""abc"#, "\"a\u{1}b\"", #""\x""#,
            #""\ud800""#, #""\udc00x""#, "{} {}", "nul",
        ]
        for text in bad { #expect(throws: JSONSyntaxError.self, "\(text)") { try JSONValue.parse(Data(text.utf8)) } }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Data(deep.utf8)) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try JSONValue.parse(Data(fine.utf8)) }
    }
}

extension JSONBytesTests {
    @Test func invalidUTF8IsRefusedAsJSONSerializationRefusesIt() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0x5C, 0x6E, 0xED, 0xA0, 0x80, 0x22]] {
            #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Data(bytes)) }
            #expect(throws: (any Error).self) { try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) }
        }
    }
}
