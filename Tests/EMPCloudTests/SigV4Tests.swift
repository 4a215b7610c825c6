import EMPCloud
import Foundation
import Testing

/// AWS's published SigV4 examples, checked in as Fixtures/sigv4-vectors.json.
struct SigV4Tests {
    struct Vector: Decodable {
        var name: String
        var accessKeyID: String
        var secretAccessKey: String
        var region: String
        var service: String
        var date: Date
        var method: String
        var url: String
        var headers: [[String]]
        var body: String
        var authorization: String
    }

    struct Fixture: Decodable { var vectors: [Vector] }

    static let vectors: [Vector] = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sigv4-vectors.json")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode(Fixture.self, from: Data(contentsOf: path)).vectors) ?? []
    }()

    @Test func theFixturesAreThere() {
        #expect(Self.vectors.count == 7)
    }

    @Test(arguments: vectors.map(\.name))
    func signsAsAWSPublished(_ name: String) throws {
        let vector = try #require(Self.vectors.first { $0.name == name })
        let credentials = AWSCredentials(accessKeyID: vector.accessKeyID, secretAccessKey: vector.secretAccessKey, source: "fixture")
        let signed = SigV4Signer(region: vector.region, service: vector.service).sign(
            method: vector.method, url: try #require(URL(string: vector.url)), headers: vector.headers.map { ($0[0], $0[1]) },
            body: Array(vector.body.utf8), credentials: credentials, date: vector.date)
        #expect(signed.first { $0.0 == "authorization" }?.1 == vector.authorization)
        let amzDate = signed.first { $0.0 == "x-amz-date" }?.1
        #expect(amzDate?.count == 16 && amzDate?.hasSuffix("Z") == true)
    }

    /// Temporary credentials add (and sign) the session token; the secret never appears in what is sent.
    @Test func aSessionTokenIsSignedAndTheSecretIsNotSent() throws {
        let credentials = AWSCredentials(
            accessKeyID: "ASIAEXAMPLE", secretAccessKey: "very-secret", sessionToken: "token-1", source: "test")
        let signed = SigV4Signer(region: "eu-west-1", service: "ec2").sign(
            method: "POST", url: try #require(URL(string: "https://ec2.eu-west-1.amazonaws.com/")), headers: [], body: [],
            credentials: credentials, date: Date(timeIntervalSince1970: 0))
        #expect(signed.first { $0.0 == "x-amz-security-token" }?.1 == "token-1")
        let authorization = try #require(signed.first { $0.0 == "authorization" }?.1)
        #expect(authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token"))
        #expect(authorization.contains("/19700101/eu-west-1/ec2/aws4_request"))
        #expect(!signed.contains { $0.1.contains("very-secret") })
        #expect(!"\(credentials)".contains("very-secret") && !"\(credentials)".contains("token-1"))
    }

    @Test func encodesAsTheQueryAPIWants() {
        #expect(SigV4Signer.encode("a b/c~d+e$é") == "a%20b%2Fc~d%2Be%24%C3%A9")
    }
}
