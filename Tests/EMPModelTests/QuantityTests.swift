import EMPModel
import Foundation
import Testing

struct QuantityTests {
    @Test(arguments: [
        ("3Gi", Int64(3) << 30),
        ("1Ki", 1024),
        ("128Mi", Int64(128) << 20),
        ("1.5Gi", Int64(3) << 29),
        ("1", 1),
        ("0", 0),
        ("1k", 1000),
        ("1M", 1_000_000),
        ("2G", 2_000_000_000),
        ("1e3", 1000),
        ("1E3", 1000),
        ("1.5e+2", 150),
        ("500m", 1),  // rounds up, as Quantity.Value() does
        ("+2Ki", 2048),
        ("1Ei", Int64(1) << 60),
    ])
    func parsesBytes(text: String, bytes: Int64) throws {
        #expect(try Quantity(text).roundedUp == bytes)
    }

    @Test(arguments: [
        ("500m", Int64(500)),
        ("1", 1000),
        ("1.5", 1500),
        ("0.1", 100),
        ("2", 2000),
        ("100u", 1),  // 0.0001 cores rounds up to 1m
        ("250000000n", 250),
        (".5", 500),
    ])
    func parsesMillicores(text: String, millis: Int64) throws {
        #expect(try Quantity(text).milliRoundedUp == millis)
    }

    @Test(arguments: ["", "Gi", "1.2.3", "1gi", "1 Gi", "abc", "1Xi", "--1", "1e", "1e3.5", "0x10", "1Gi ", "١"])
    func rejectsInvalid(text: String) {
        #expect(throws: QuantityError.self) { try Quantity(text) }
    }

    @Test func errorQuotesTheText() {
        do {
            _ = try Quantity("12Q")
            Issue.record("12Q parsed")
        } catch let error as QuantityError {
            #expect(error.description == "quantity \"12Q\" has an unknown suffix \"Q\"")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func negativeQuantitiesParse() throws {
        #expect(try Quantity("-1Gi").roundedUp == -(Int64(1) << 30))
    }

    @Test func resourcesFromQuantities() throws {
        let resources = try Resources(cpu: "500m", memory: "3Gi")
        #expect(resources == Resources(cpuMillis: 500, memoryBytes: 3 << 30))
        #expect(resources.description == "500m CPU, 3Gi")
    }
}

struct ResourcesTests {
    @Test func arithmeticAndFit() {
        let a = Resources(cpuMillis: 2000, memoryBytes: .gibibytes(4))
        let b = Resources(cpuMillis: 500, memoryBytes: .gibibytes(1))
        #expect(a + b == Resources(cpuMillis: 2500, memoryBytes: .gibibytes(5)))
        #expect(a - b == Resources(cpuMillis: 1500, memoryBytes: .gibibytes(3)))
        #expect(b.fits(in: a))
        #expect(!a.fits(in: b))
        #expect(!Resources(cpuMillis: 1, memoryBytes: .gibibytes(5)).fits(in: a))
        #expect(b * 3 == Resources(cpuMillis: 1500, memoryBytes: .gibibytes(3)))
    }

    @Test func overcommitScaling() {
        let capacity = Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))
        let limit = PoolPolicy(cpuOvercommit: 4, memoryOvercommit: 1.5).allocatable(capacity)
        #expect(limit == Resources(cpuMillis: 256_000, memoryBytes: .gibibytes(384)))
        let usable = PoolPolicy().usable(capacity)
        #expect(usable.cpuMillis == 51_200)
    }

    @Test func codableRoundTrip() throws {
        let value = Resources(cpuMillis: 1500, memoryBytes: .mebibytes(1536))
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(Resources.self, from: data) == value)
        #expect(Resources.formatBytes(.mebibytes(1536)) == "1536Mi")
    }

    @Test func decodesHandWrittenQuantities() throws {
        let decoded = try JSONDecoder().decode(Resources.self, from: Data(#"{"cpu":"1500m","memory":"3Gi"}"#.utf8))
        #expect(decoded == Resources(cpuMillis: 1500, memoryBytes: .gibibytes(3)))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Resources.self, from: Data(#"{"cpu":"lots"}"#.utf8))
        }
    }
}
