// swift-tools-version:6.0
// libFuzzer targets for every decoder of untrusted input (issue 14), built by `make fuzz-build`: every Swift module
// is compiled with `-Xfrontend -sanitize=fuzzer` (coverage and comparison tracing) and the executables link
// libclang_rt.fuzzer_no_main; each main hands its input handler to libFuzzer through `LLVMFuzzerRunDriver`.
import PackageDescription

let targets: [(String, [Target.Dependency])] = [
    ("fuzz-operator", [.product(name: "EMPControlPlane", package: "emp")]),
    ("fuzz-agent", [.product(name: "EMPControlPlane", package: "emp")]),
    ("fuzz-admission", [.product(name: "EMPWebhook", package: "emp")]),
    ("fuzz-kubeconfig", [.product(name: "Kube", package: "emp")]),
    ("fuzz-whatif", [.product(name: "EMPScheduling", package: "emp"), .product(name: "EMPModel", package: "emp")]),
    ("fuzz-cloudinit", [.product(name: "EMPAgent", package: "emp"), .product(name: "EMPModel", package: "emp")]),
]

let package = Package(
    name: "emp-fuzz",
    products: targets.map { .executable(name: $0.0, targets: [$0.0]) },
    dependencies: [.package(name: "emp", path: "../..")],
    targets: [.target(name: "FuzzDriver")] + targets.map { .executableTarget(name: $0.0, dependencies: $0.1 + ["FuzzDriver"]) }
)
