import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

/// The input handler of this process (libFuzzer's callback is a C function and cannot capture).
nonisolated(unsafe) private var handler: (Data) -> Void = { _ in }

/// Hands control to libFuzzer (linked as `libclang_rt.fuzzer_no_main`, so SwiftPM's own `main` stays) with `body`
/// as the target: it gets each input and must return normally for any of them.
public func runFuzzer(_ body: @escaping (Data) -> Void) -> Never {
    handler = body
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(
        llvmFuzzerRunDriver(&argc, &argv) { bytes, count in
            handler(Data(bytes: bytes, count: count))
            return 0
        })
}
