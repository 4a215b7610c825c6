import Foundation
import FuzzDriver
import Kube

// kubeconfig files: YAML parse, merge and context resolution, as `KubeConfig.load(paths:)` does for a user's file.
let path = "/dev/shm/emp-fuzz-kubeconfig-\(ProcessInfo.processInfo.processIdentifier).yaml"
runFuzzer { data in
    _ = FileManager.default.createFile(atPath: path, contents: data)
    _ = try? KubeConfig.load(paths: [path])
}
