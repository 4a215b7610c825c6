// swift-tools-version:6.0
// Runs LibvirtTests under ThreadSanitizer without building the whole EMP package with TSan:
// `swift test --sanitize=thread` here builds only Libvirt, EMPTesting and their dependencies.
import PackageDescription

let package = Package(
    name: "emp-tsan",
    dependencies: [.package(name: "emp", path: "../..")],
    targets: [
        .testTarget(
            name: "LibvirtTests",
            dependencies: [
                .product(name: "Libvirt", package: "emp"),
                .product(name: "EMPTesting", package: "emp"),
            ],
            path: "LibvirtTests",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        )
    ]
)
