// swift-tools-version:6.0
import PackageDescription

/// One settings array for every target (Swift 6 language mode is the default for tools 6.0).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // A file sees only the members of modules it imports itself, and an import is internal unless it says
    // `public import`: each target's dependencies are exactly what its files declare.
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "emp",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "emp-control-plane", targets: ["emp-control-plane"]),
        .executable(name: "emp-agent", targets: ["emp-agent"]),
        .executable(name: "emp-webhook", targets: ["emp-webhook"]),
        .executable(name: "empctl", targets: ["empctl"]),
        // Libraries for embedding, and for Tests/TSan (the ThreadSanitizer run of LibvirtTests).
        .library(name: "Libvirt", targets: ["Libvirt"]),
        .library(name: "EMPTesting", targets: ["EMPTesting"]),
        // For Tests/Fuzz (libFuzzer targets over the decoders of untrusted input).
        .library(name: "EMPModel", targets: ["EMPModel"]),
        .library(name: "EMPScheduling", targets: ["EMPScheduling"]),
        .library(name: "Kube", targets: ["Kube"]),
        .library(name: "EMPControlPlane", targets: ["EMPControlPlane"]),
        .library(name: "EMPWebhook", targets: ["EMPWebhook"]),
        .library(name: "EMPAgent", targets: ["EMPAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"6.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // MARK: libraries, in dependency order
        .target(name: "EMPModel", swiftSettings: swiftSettings),
        .target(
            name: "EMPScheduling",
            dependencies: [
                "EMPModel"
            ],
            swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CLibvirt",
            path: "Sources/CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        .target(
            name: "Libvirt",
            dependencies: [
                "CLibvirt",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Kube",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Server limits shared by every HTTP server: timeouts, connection limit, 405s, JSON error bodies.
        .target(
            name: "ServerGuard",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EMPStore",
            dependencies: [
                "EMPModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// AWS access (SigV4, credentials, the EC2 Query API) for the EC2 host provider: no AWS SDK for Swift here.
        .target(
            name: "EMPCloud",
            dependencies: [
                "EMPModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EMPControlPlane",
            dependencies: [
                "EMPCloud",
                "EMPModel",
                "EMPScheduling",
                "EMPStore",
                "Kube",
                "ServerGuard",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EMPAgent",
            dependencies: [
                "EMPModel",
                "Kube",
                "Libvirt",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EMPCertificates",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EMPWebhook",
            dependencies: [
                "EMPCertificates",
                "EMPModel",
                "Kube",
                "ServerGuard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KubeSim",
            dependencies: [
                "EMPCertificates",
                "EMPModel",
                "Kube",
                "ServerGuard",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// `empctl simulate`: a day of demand replayed against cluster-autoscaler, Karpenter and EMP (pure).
        .target(
            name: "EMPSimulation",
            dependencies: [
                "EMPModel",
                "EMPScheduling",
            ],
            swiftSettings: swiftSettings
        ),
        /// Simulated agents over real HTTP for fleet-scale benchmarks and tests; production code never imports it.
        .target(
            name: "EMPFleetSimulation",
            dependencies: [
                "EMPAgent",
                "EMPModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Test support (fixtures, child processes, temp dirs); production code never imports it.
        .target(
            name: "EMPTesting",
            dependencies: [
                "EMPModel",
                "EMPScheduling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: executables (thin mains)
        .executableTarget(
            name: "emp-control-plane",
            dependencies: [
                "EMPControlPlane",
                "EMPStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "emp-agent",
            dependencies: [
                "EMPAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "emp-webhook",
            dependencies: [
                "EMPWebhook",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "empctl",
            dependencies: [
                "EMPModel",
                "EMPScheduling",
                "EMPSimulation",
                "EMPWebhook",
                "Kube",
                "KubeSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        /// `make bench`: side-by-side measurements recorded in docs/benchmarks.md.
        .executableTarget(
            name: "emp-bench",
            dependencies: [
                "EMPAgent",
                "EMPControlPlane",
                "EMPFleetSimulation",
                "EMPModel",
                "EMPScheduling",
                "EMPSimulation",
                "EMPStore",
                "EMPTesting",
                "EMPWebhook",
                "Kube",
                "KubeSim",
                "Libvirt",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Child-process helper for tests that kill a writer mid-flight; not shipped.
        .executableTarget(
            name: "emp-test-helper",
            dependencies: [
                "EMPAgent",
                "EMPModel",
                "EMPStore",
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: test targets (KubeSim and EMPWebhook tests arrive with their modules' issues)
        .testTarget(
            name: "EMPModelTests",
            dependencies: [
                "EMPModel"
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EMPSchedulingTests",
            dependencies: [
                "EMPModel",
                "EMPScheduling",
                "EMPTesting",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EMPSimulationTests",
            dependencies: [
                "EMPModel",
                "EMPScheduling",
                "EMPSimulation",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LibvirtTests",
            dependencies: [
                "EMPTesting",
                "Libvirt",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EMPStoreTests",
            dependencies: [
                "EMPModel",
                "EMPStore",
                "EMPTesting",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EMPCloudTests",
            dependencies: [
                "EMPCloud",
                "EMPModel",
                "EMPTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EMPControlPlaneTests",
            dependencies: [
                "EMPAgent",
                "EMPCloud",
                "EMPControlPlane",
                "EMPFleetSimulation",
                "EMPModel",
                "EMPScheduling",
                "EMPSimulation",
                "EMPStore",
                "EMPTesting",
                "Kube",
                "KubeSim",
                "Libvirt",
                "ServerGuard",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeTests",
            dependencies: [
                "EMPCertificates",
                "EMPTesting",
                "Kube",
                "KubeSim",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EMPWebhookTests",
            dependencies: [
                "EMPCertificates",
                "EMPModel",
                "EMPTesting",
                "EMPWebhook",
                "Kube",
                "KubeSim",
                "ServerGuard",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KubeSimTests",
            dependencies: [
                "EMPCertificates",
                "EMPTesting",
                "Kube",
                "KubeSim",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EMPAgentTests",
            dependencies: [
                "EMPAgent",
                "EMPCertificates",
                "EMPModel",
                "EMPTesting",
                "Kube",
                "KubeSim",
                "Libvirt",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "E2ETests",
            dependencies: [
                "EMPModel",
                "EMPTesting",
                "Kube",
                "KubeSim",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RealVMTests",
            dependencies: [
                "EMPControlPlane",
                "EMPModel",
                "EMPScheduling",
                "EMPStore",
                "EMPTesting",
                "Kube",
                "KubeSim",
                "Libvirt",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
