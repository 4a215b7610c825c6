import EMPModel
import Foundation
import Kube

/// What a kubelet writes: Node readiness and a started pod's status.
enum SimKubelet {
    /// Held back from pods on every simulated node: CPU in millicores, memory in bytes.
    static let reserved = (cpuMillis: Int64(100), memoryBytes: Int64(1124) << 20)

    static func allocatable(_ capacity: [String: String]) -> [String: String] {
        var allocatable = capacity
        if let cpu = capacity["cpu"].flatMap({ try? Quantity($0).milliRoundedUp }) {
            allocatable["cpu"] = "\(max(0, cpu - reserved.cpuMillis))m"
        }
        if let memory = capacity["memory"].flatMap({ try? Quantity($0).roundedUp }) {
            allocatable["memory"] = "\(max(0, memory - reserved.memoryBytes) / 1024)Ki"
        }
        return allocatable
    }

    /// Ready condition, and capacity/allocatable/nodeInfo where the registrant left them empty. Allocatable is
    /// capacity minus what a kubeadm kubelet keeps back: 100m CPU and 1Gi kube-reserved plus the 100Mi
    /// `memory.available` eviction threshold (a 16Gi node offers "a little under 15 GiB", as in seed 000).
    static func makeReady(_ object: inout JSONObject) {
        var node = Node(object: object)
        var status = node.status
        if status.capacity.isEmpty { status.capacity = ["cpu": "4", "memory": "16Gi", "pods": "110"] }
        if status.allocatable.isEmpty { status.allocatable = allocatable(status.capacity) }
        var info = status.nodeInfo
        if info.kubeletVersion == nil {
            info.kubeletVersion = "v1.32.0"
            info.osImage = "Debian GNU/Linux 12 (bookworm)"
            info.kernelVersion = "6.1.0"
            info.containerRuntimeVersion = "containerd://1.7.0"
            info.architecture = "amd64"
            status.nodeInfo = info
        }
        if status.addresses.isEmpty {
            status.addresses = [
                Node.Address(type: "InternalIP", address: address(for: node.name, net: 100)),
                Node.Address(type: "Hostname", address: node.name),
            ]
        }
        var conditions = status.conditions
        conditions.set(Condition(type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status"))
        status.conditions = conditions
        node.status = status
        object = node.object
    }

    /// Marks a bound pod Running with ready containers, an IP and the node's address.
    static func start(_ object: inout JSONObject, on node: Node) {
        var pod = Pod(object: object)
        var status = pod.status
        let now = Date()
        status.phase = "Running"
        status.podIP = address(for: "\(pod.namespace ?? "")/\(pod.name)", net: 244)
        status.hostIP = node.status.addresses.first { $0.type == "InternalIP" }?.address
        status["startTime"] = KubeTime.format(now)
        var conditions = status.conditions
        for type in ["Initialized", "Ready", "ContainersReady", "PodScheduled"] {
            conditions.set(Condition(type: type, status: "True", at: now))
        }
        status.conditions = conditions
        status.object["containerStatuses"] = .array(
            pod.spec.containers.map {
                .object([
                    "name": .string($0.name), "image": .string($0.image ?? ""), "ready": .bool(true), "started": .bool(true),
                    "restartCount": .int(0), "state": .object(["running": .object(["startedAt": .string(KubeTime.format(now))])]),
                ])
            })
        pod.status = status
        object = pod.object
    }

    /// A stable 10.x.y.z address derived from a name.
    static func address(for name: String, net: Int) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "10.\(net).\((hash >> 8) & 0xff).\(max(1, hash & 0xfe))"
    }
}
