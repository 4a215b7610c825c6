import AsyncHTTPClient
import EMPCloud
import EMPModel
import EMPTesting
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing

/// An IMDSv2 double on loopback: hands out a session token on `PUT /latest/api/token`, refuses reads without it,
/// and issues role credentials that expire after `lifetime` and change on each issue.
final class MetadataDouble: Sendable {
    let task: ServingTask
    let port: Int

    init(clock: ManualClock, lifetime: TimeInterval = 900) async throws {
        let router = Router()
        let box = Counters()
        router.put("latest/api/token") { request, _ -> Response in
            guard request.headers[HTTPField.Name("X-aws-ec2-metadata-token-ttl-seconds")!] != nil else {
                return Response(status: .badRequest)
            }
            box.tokenRequests.add(1, ordering: .relaxed)
            return Response(
                status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "session-\(box.tokenRequests.load(ordering: .relaxed))")))
        }
        @Sendable func authorized(_ request: Request) -> Bool {
            request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!]?.hasPrefix("session-") == true
        }
        router.get("latest/meta-data/iam/security-credentials/") { request, _ -> Response in
            guard authorized(request) else {
                box.refused.add(1, ordering: .relaxed)
                return Response(status: .unauthorized)
            }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "emp-host-role\n")))
        }
        router.get("latest/meta-data/iam/security-credentials/emp-host-role") { request, _ -> Response in
            guard authorized(request) else {
                box.refused.add(1, ordering: .relaxed)
                return Response(status: .unauthorized)
            }
            let n = box.issued.add(1, ordering: .relaxed).newValue
            let expiration = clock.date.addingTimeInterval(lifetime).formatted(.iso8601)
            let body =
                #"{"Code": "Success", "AccessKeyId": "ASIA\#(n)", "SecretAccessKey": "secret-\#(n)", "Token": "token-\#(n)", "Expiration": "\#(expiration)"}"#
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        (task, port) = await ServingTask.start { bound in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { bound($0.localAddress?.port ?? 0) }, logger: Logger(label: "imds"))
        }
        counters = box
    }

    final class Counters: Sendable {
        let issued = Atomic<Int>(0)
        let tokenRequests = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
    }
    let counters: Counters
}

@Suite(.serialized) struct CredentialTests {
    @Test func theEnvironmentComesFirstAndAHalfSetOneIsNamed() async throws {
        let found = try await EnvironmentCredentials(environment: [
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
        ]).load()
        #expect(found?.accessKeyID == "AKIAENV" && found?.sessionToken == "t" && found?.source == "environment")
        #expect(try await EnvironmentCredentials(environment: [:]).load() == nil)
        await #expect {
            try await EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIAENV"]).load()
        } throws: { "\($0)".contains("AWS_SECRET_ACCESS_KEY") }
    }

    @Test func theSharedFileIsReadByProfile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("credentials")
        try """
        # comment
        [default]
        aws_access_key_id = AKIADEFAULT
        aws_secret_access_key = default-secret

        [profile metal]
        aws_access_key_id=AKIAMETAL
        aws_secret_access_key=metal-secret
        aws_session_token = metal-token
        [broken]
        aws_access_key_id = AKIABROKEN
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let metal = try await ProfileCredentials(environment: ["AWS_SHARED_CREDENTIALS_FILE": path, "AWS_PROFILE": "metal"]).load()
        #expect(metal?.accessKeyID == "AKIAMETAL" && metal?.secretAccessKey == "metal-secret" && metal?.sessionToken == "metal-token")
        #expect(try await ProfileCredentials(path: path, profile: "default").load()?.accessKeyID == "AKIADEFAULT")
        #expect(try await ProfileCredentials(path: path, profile: "absent").load() == nil)
        #expect(try await ProfileCredentials(path: directory.file("none"), profile: "default").load() == nil)
        await #expect {
            try await ProfileCredentials(path: path, profile: "broken").load()
        } throws: { "\($0)".contains("profile broken lacks") }
    }

    /// IMDSv2: a session token before each read; credentials kept until five minutes before they expire, then
    /// fetched again (rotated).
    @Test func instanceMetadataCredentialsRotateBeforeTheyExpire() async throws {
        let clock = ManualClock()
        let double = try await MetadataDouble(clock: clock, lifetime: 900)
        defer { Task { await double.task.stop() } }
        let client = HTTPClient.shared
        let chain = AWSCredentialChain(
            sources: [
                EnvironmentCredentials(environment: [:]), ProfileCredentials(path: "/nonexistent", profile: "default"),
                InstanceMetadataCredentials(endpoint: "http://127.0.0.1:\(double.port)", client: client),
            ], clock: clock)
        let first = try await chain.credentials()
        #expect(first.accessKeyID == "ASIA1" && first.sessionToken == "token-1" && first.source.contains("emp-host-role"))
        clock.advance(by: .seconds(500))
        #expect(try await chain.credentials().accessKeyID == "ASIA1")
        #expect(double.counters.issued.load(ordering: .relaxed) == 1)
        clock.advance(by: .seconds(150))  // 250 s left: inside the five-minute refresh window
        let second = try await chain.credentials()
        #expect(second.accessKeyID == "ASIA2" && second.secretAccessKey == "secret-2")
        #expect(double.counters.tokenRequests.load(ordering: .relaxed) == 2)
        #expect(double.counters.refused.load(ordering: .relaxed) == 0)
    }

    @Test func noSourceGivesAnErrorNamingThemAll() async throws {
        let client = HTTPClient.shared
        let chain = AWSCredentialChain(sources: [
            EnvironmentCredentials(environment: [:]), ProfileCredentials(path: "/nonexistent", profile: "default"),
            InstanceMetadataCredentials(endpoint: "http://127.0.0.1:1", client: client, timeout: .seconds(1)),
        ])
        await #expect {
            try await chain.credentials()
        } throws: { "\($0)".contains("no AWS credentials") && "\($0)".contains("instance metadata at http://127.0.0.1:1 unreachable") }
    }
}
