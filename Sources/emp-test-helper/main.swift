// Child-process helper for tests that kill a writer mid-flight (SIGKILL) and check what survived.
// Usage: emp-test-helper store-writer DB_PATH|POSTGRES_URL COUNT
import EMPModel
import EMPStore
import Foundation

/// Writes a line unbuffered, so a parent that kills us sees exactly what was reported.
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let arguments = CommandLine.arguments
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
