import EMPAgent
import EMPCertificates
import EMPModel
import EMPTesting
import Foundation
import Kube
import KubeSim
import Libvirt
import Testing
import Yams

/// What cloud-init inside the EVM will read: the ISO is built with the real tool and read back with xorriso.
@Suite struct CloudInitSeedTests {
    static let token = "abcdef.0123456789abcdef"

    static func join(_ sim: KubeSim? = nil, extraArgs: [String] = []) -> KubeletJoin {
        KubeletJoin(
            apiServer: sim?.url ?? "https://10.0.0.1:6443",
            caCertificate: sim?.authority.certificatePEM ?? "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            bootstrapToken: token, extraArgs: extraArgs)
    }

    /// Files cloud-init reads from the ISO, extracted by xorriso; and the volume id.
    static func readISO(_ iso: String, into dir: TemporaryDirectory) async throws -> (volume: String, files: [String: String]) {
        let out = dir.file("extracted")
        _ = try await ChildProcess.output("/usr/bin/xorriso", ["-osirrox", "on", "-indev", iso, "-extract", "/", out])
        let info = try await ChildProcess.output("/usr/bin/xorriso", ["-indev", iso, "-pvd_info"])
        let volume = info.split(separator: "\n").first { $0.hasPrefix("Volume Id") }?.split(separator: ":").last
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: out) {
            files[name] = try String(contentsOfFile: "\(out)/\(name)", encoding: .utf8)
        }
        return (volume.map { $0.trimmingCharacters(in: .whitespaces) } ?? "", files)
    }

    /// The `write_files` entries of a user-data, by path.
    static func writtenFiles(_ userData: String) throws -> [String: [String: Any]] {
        let config = try #require(try Yams.load(yaml: userData) as? [String: Any])
        let entries = try #require(config["write_files"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: entries.map { ($0["path"] as? String ?? "", $0) })
    }

    @Test func isoHasTheCidataLabelAndTheSeedFiles() async throws {
        let dir = try TemporaryDirectory()
        let seed = CloudInitSeed(evm: evm("p-aaa111"), hostID: "bm-1", kubelet: Self.join())
        let iso = dir.file("seeds/p-aaa111.iso")
        try await SeedImage.locate().write(try seed.files(), to: iso)

        let (volume, files) = try await Self.readISO(iso, into: dir)
        #expect(volume == "cidata")
        #expect(files == (try seed.files()))
        let mode = try FileManager.default.attributesOfItem(atPath: iso)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("seeds")) == ["p-aaa111.iso"])

        let meta = try #require(try Yams.load(yaml: files["meta-data"] ?? "") as? [String: Any])
        #expect(meta["instance-id"] as? String == "p-aaa111")
        #expect(meta["local-hostname"] as? String == "p-aaa111")
    }

    @Test func kubeletRegistersWithTheEMPTaintAndLabels() throws {
        let seed = CloudInitSeed(evm: evm("p-aaa111"), hostID: "bm-1", kubelet: Self.join(extraArgs: ["--max-pods=58"]))
        let userData = try seed.userData()
        #expect(userData.hasPrefix("#cloud-config\n"))
        let files = try Self.writtenFiles(userData)
        let dropIn = try #require(files["/etc/systemd/system/kubelet.service.d/20-emp.conf"]?["content"] as? String)
        let execStart = try #require(dropIn.split(separator: "\n").last { $0.hasPrefix("ExecStart=/usr/bin/kubelet") })
        let flags = execStart.split(separator: " ").dropFirst().map(String.init)
        #expect(!flags.contains { $0.hasPrefix("--register-with-taints") }, "the deprecated flag: the taint is in the configuration")
        #expect(
            flags.contains("--node-labels=emp.pf9.io/evm=p-aaa111,emp.pf9.io/host=bm-1,emp.pf9.io/owned=true,emp.pf9.io/pool=p"))
        #expect(flags.contains("--hostname-override=p-aaa111"))
        #expect(flags.last == "--max-pods=58")
        #expect(files["/etc/kubernetes/bootstrap-kubelet.conf"]?["permissions"] as? String == "0600")
        #expect(files["/etc/kubernetes/pki/ca.crt"]?["content"] as? String == Self.join().caCertificate)
        let config = try #require(try Yams.load(yaml: userData) as? [String: Any])
        #expect(config["runcmd"] as? [[String]] == [["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "kubelet"]])
        // The kubelet's configuration file (issue 20): the taint through registerWithTaints, containerd's socket and
        // cluster.local by default, no clusterDNS unless known.
        let kubelet = try #require(
            try Yams.load(yaml: files["/etc/kubernetes/kubelet-config.yaml"]?["content"] as? String ?? "") as? [String: Any])
        #expect(kubelet["kind"] as? String == "KubeletConfiguration")
        let taints = kubelet["registerWithTaints"] as? [[String: String]]
        #expect(taints == [["key": "emp.pf9.io/EMPSchedulable", "value": "true", "effect": "NoSchedule"]])
        #expect(kubelet["containerRuntimeEndpoint"] as? String == "unix:///run/containerd/containerd.sock")
        #expect(kubelet["clusterDomain"] as? String == "cluster.local")
        #expect(kubelet["clusterDNS"] == nil)
        #expect(kubelet["cgroupDriver"] as? String == "systemd")
    }

    /// Without clusterDNS every pod on an EVM got `MissingClusterDNS` and could not resolve Services (found on a real
    /// node): the join's DNS, domain and runtime reach the kubelet's configuration.
    @Test func clusterDNSDomainAndRuntimeReachTheKubelet() throws {
        var join = Self.join()
        join.clusterDNS = ["10.96.0.10"]
        join.clusterDomain = "corp.example"
        join.containerRuntimeEndpoint = "unix:///var/run/crio/crio.sock"
        let files = try Self.writtenFiles(try CloudInitSeed(evm: evm("p-aaa111"), hostID: "bm-1", kubelet: join).userData())
        let kubelet = try #require(
            try Yams.load(yaml: files["/etc/kubernetes/kubelet-config.yaml"]?["content"] as? String ?? "") as? [String: Any])
        #expect(kubelet["clusterDNS"] as? [String] == ["10.96.0.10"])
        #expect(kubelet["clusterDomain"] as? String == "corp.example")
        #expect(kubelet["containerRuntimeEndpoint"] as? String == "unix:///var/run/crio/crio.sock")
    }

    @Test func withoutAKubeletJoinTheSeedOnlyNamesTheMachine() throws {
        let userData = try CloudInitSeed(evm: evm("p-aaa111"), hostID: "bm-1", kubelet: nil).userData()
        let config = try #require(try Yams.load(yaml: userData) as? [String: Any])
        #expect(config["hostname"] as? String == "p-aaa111")
        #expect(config["write_files"] == nil)
        #expect(config["runcmd"] == nil)
    }

    /// The bootstrap kubeconfig and CA from the ISO authenticate a real client to the API server.
    @Test func bootstrapKubeconfigFromTheISOReachesTheAPIServer() async throws {
        let dir = try TemporaryDirectory()
        var options = KubeSim.Options()
        options.tokens = [Self.token: SimUser(name: "system:bootstrap:abcdef")]
        let sim = try KubeSim(options: options)
        try await sim.start()
        defer { Task { await sim.stop() } }
        let seed = CloudInitSeed(evm: evm("p-aaa111"), hostID: "bm-1", kubelet: Self.join(sim))
        try await SeedImage.locate().write(try seed.files(), to: dir.file("seed.iso"))
        let files = try Self.writtenFiles(try await Self.readISO(dir.file("seed.iso"), into: dir).files["user-data"] ?? "")

        // Lay the guest's files out under a root directory, as cloud-init would.
        let root = dir.file("guest")
        for (path, entry) in files {
            let target = URL(fileURLWithPath: root + path)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((entry["content"] as? String ?? "").utf8).write(to: target)
        }
        let kubeconfig = try String(contentsOfFile: root + CloudInitSeed.Path.bootstrapKubeconfig, encoding: .utf8)
            .replacingOccurrences(of: CloudInitSeed.Path.caCertificate, with: root + CloudInitSeed.Path.caCertificate)
        try Data(kubeconfig.utf8).write(to: URL(fileURLWithPath: dir.file("bootstrap.conf")))
        let client = try KubeClient(config: try KubeConfig.load(paths: [dir.file("bootstrap.conf")]))
        defer { Task { try? await client.shutdown() } }
        let namespaces = try await client.resources(Namespace.self).list()
        #expect(namespaces.items.map(\.metadata.name).contains("kube-public"))
    }

    @Test func joinValidationNamesTheField() {
        func field(_ change: (inout KubeletJoin) -> Void) -> String? {
            var join = Self.join()
            change(&join)
            do {
                try join.validate()
                return nil
            } catch {
                return (error as? ValidationError)?.field
            }
        }
        #expect(field { _ in } == nil)
        #expect(field { $0.apiServer = "http://10.0.0.1:6443" } == "apiServer")
        #expect(field { $0.caCertificate = "not a pem" } == "caCertificate")
        #expect(field { $0.bootstrapToken = "ABCDEF.0123456789abcdef" } == "bootstrapToken")
        #expect(field { $0.bootstrapToken = "abcdef0123456789abcdef" } == "bootstrapToken")
        #expect(field { $0.extraArgs = ["--register-with-taints=none"] } == "extraArgs[0]")
        #expect(field { $0.extraArgs = ["--max-pods=58", "max-pods"] } == "extraArgs[1]")
        #expect(field { $0.extraArgs = ["--config=/tmp/other.yaml"] } == "extraArgs[0]")
        #expect(field { $0.clusterDNS = ["10.96.0.10", "fd00::a"] } == nil)
        #expect(field { $0.clusterDNS = ["kube-dns"] } == "clusterDNS[0]")
        #expect(field { $0.clusterDNS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"] } == "clusterDNS")
        #expect(field { $0.clusterDomain = "Cluster.Local" } == "clusterDomain")
        #expect(field { $0.clusterDomain = "cluster..local" } == "clusterDomain")
        #expect(field { $0.containerRuntimeEndpoint = "/run/containerd/containerd.sock" } == "containerRuntimeEndpoint")
        #expect(Self.join().redacted.bootstrapToken == "abcdef.****************")
    }
}
