// Child-process helper for tests that kill a writer mid-flight (SIGKILL) and check what survived.
// Usage: emp-test-helper store-writer DB_PATH|POSTGRES_URL COUNT
//        emp-test-helper seed DIR   (the agent's real cloud-init seed files for a test EVM, for images/test-node-image.sh)
import EMPAgent
import EMPModel
import EMPStore
import Foundation

/// Writes a line unbuffered, so a parent that kills us sees exactly what was reported.
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = CommandLine.arguments
if arguments.count == 3, arguments[1] == "seed" {
    // What the agent writes for an EVM of a pool with a kubelet join (an API server the guest cannot reach).
    let evm = EVM(
        id: "emp-image-test", poolID: "p", hostID: "bm-1", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(2)), phase: .creating,
        nodeName: "emp-image-test", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    let join = KubeletJoin(
        apiServer: "https://192.0.2.1:6443", caCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        bootstrapToken: "abcdef.0123456789abcdef", clusterDNS: ["10.96.0.10"])
    try FileManager.default.createDirectory(atPath: arguments[2], withIntermediateDirectories: true)
    for (name, content) in try CloudInitSeed(evm: evm, hostID: "bm-1", kubelet: join).files() {
        try Data(content.utf8).write(to: URL(fileURLWithPath: "\(arguments[2])/\(name)"))
    }
    exit(0)
}
guard arguments.count == 4, arguments[1] == "store-writer", let count = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: emp-test-helper store-writer DB_PATH|POSTGRES_URL COUNT\n".utf8))
    exit(2)
}
let store: any StateStore =
    arguments[2].hasPrefix("postgres://")
    ? try PostgresStore(configuration: try PostgresStore.Configuration.parse(url: arguments[2])) : try SQLiteStore(path: arguments[2])
let shape = EVMShape(vcpus: 2, memoryBytes: .gibibytes(4))
let epoch = Date(timeIntervalSince1970: 1_700_000_000)
try await store.write { tx in
    if try tx.pool("crash") == nil {
        try tx.save(Pool(id: "crash", shape: shape, createdAt: epoch))
        try tx.save(Host(id: "h1", poolID: "crash", capacity: Resources(cpuMillis: 1_000_000, memoryBytes: .gibibytes(8192))))
    }
}
emit("ready")
for index in 0..<count {
    // One transaction: the EVM, its host's allocation, the host's revision and an event commit together.
    try await store.write { tx in
        guard var host = try tx.host("h1") else { throw StoreError("host h1 vanished") }
        let id = String(format: "evm-%05d", index)
        try tx.save(EVM(id: id, poolID: "crash", hostID: "h1", shape: shape, phase: .creating, nodeName: id, createdAt: epoch))
        host.allocated += shape.resources
        try tx.save(host)
        try tx.bumpRevision("host/h1")
        try tx.append(Event(time: epoch, object: ObjectRef(.evm, id), reason: "Placed", message: "placed on h1"))
    }
    emit("committed \(index)")
}
emit("done")
