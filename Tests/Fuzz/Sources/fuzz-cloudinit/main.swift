import EMPAgent
import EMPModel
import Foundation
import FuzzDriver

// A pool's kubelet join (operator input, validated as the API does) rendered into an EVM's cloud-init seed.
let evm = EVM(
    id: "evm-fuzz", poolID: "pool", hostID: "bm-1", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(4)), phase: .creating,
    nodeName: "evm-fuzz", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
runFuzzer { data in
    guard (try? JSONGuard.check(data)) != nil, let join = try? JSONDecoder().decode(KubeletJoin.self, from: data),
        (try? join.validate()) != nil
    else { return }
    _ = try? CloudInitSeed(evm: evm, hostID: "bm-1", kubelet: join).files()
}
