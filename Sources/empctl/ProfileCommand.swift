import ArgumentParser
import EMPModel
import EMPWebhook
import Foundation
import Kube
import Logging

/// `empctl profile show|preview|apply`: the webhook's opt-in profile (`default/emp-profile-cm`) and its effect.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Show the namespaces opted in to EVMs and move existing workloads onto them.",
        subcommands: [Show.self, Preview.self, Apply.self]
    )

    /// Where the cluster is.
    struct ClusterOptions: ParsableArguments {
        @Option(help: "kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the pod's service account).") var kubeconfig: String?

        func client() throws -> KubeClient {
            do {
                let config = try kubeconfig.map { try KubeConfig.load(paths: [$0]) } ?? KubeConfig.load()
                return try KubeClient(config: config, logger: Logger(label: "empctl.kube"))
            } catch {
                throw ValidationError("cannot reach the cluster: \(error)")
            }
        }

        /// The profile in the cluster; a malformed one is an error naming the key.
        func profile(_ client: KubeClient) async throws -> WebhookProfile? {
            let maps = client.resources(ConfigMap.self, namespace: Profile.configMapNamespace)
            guard let map = try await maps.getIfPresent(Profile.configMapName) else { return nil }
            do {
                return try WebhookProfile.parse(map.data)
            } catch {
                throw ValidationError("\(error) (the webhook keeps its last good profile until this is fixed)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the active profile.")
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let client = try cluster.client()
            defer { Task { try? await client.shutdown() } }
            guard let profile = try await cluster.profile(client) else {
                print("no ConfigMap \(Profile.configMapNamespace)/\(Profile.configMapName): no namespace is opted in")
                return
            }
            print("namespaces: \(profile.namespaces.sorted().joined(separator: ", "))")
            if let labels = profile.labels {
                print("labels:     \(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))")
            } else {
                print("labels:     (every pod)")
            }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the existing pods of NAMESPACE the profile would change and the workloads to restart.")
        @OptionGroup var cluster: ClusterOptions
        @Argument(help: "Namespace.") var namespace: String

        func run() async throws {
            let client = try cluster.client()
            defer { Task { try? await client.shutdown() } }
            let preview = try await ProfileCommand.preview(client, cluster: cluster, namespace: namespace)
            ProfileCommand.show(preview)
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restart the workloads of NAMESPACE so their pods come back through the webhook onto EVMs.")
        @OptionGroup var cluster: ClusterOptions
        @Flag(help: "Rollout-restart the workloads (required: says what this command does).") var restart = false
        @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var yes = false
        @Argument(help: "Namespace.") var namespace: String

        func run() async throws {
            guard restart else { throw ValidationError("say --restart to rollout-restart the workloads of \(namespace)") }
            let client = try cluster.client()
            defer { Task { try? await client.shutdown() } }
            let preview = try await ProfileCommand.preview(client, cluster: cluster, namespace: namespace)
            ProfileCommand.show(preview)
            let workloads = preview.workloads
            guard !workloads.isEmpty else { return }
            if !yes {
                Swift.print("Restart \(workloads.count) workload(s) in \(namespace)? [y/N] ", terminator: "")
                guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
                    Swift.print("nothing restarted")
                    return
                }
            }
            for workload in workloads {
                try await ProfilePreview.restart(workload, namespace: namespace, client: client)
                Swift.print("\(workload.description) restarted")
            }
        }
    }

    static func preview(_ client: KubeClient, cluster: ClusterOptions, namespace: String) async throws -> ProfilePreview {
        do {
            try DNSLabel.validate(namespace, field: "NAMESPACE")
        } catch {
            throw ValidationError("\(error)")
        }
        let profile = try await cluster.profile(client) ?? .optedOut
        guard profile.namespaces.contains(namespace) else {
            throw ValidationError("namespace \(namespace) is not opted in by \(Profile.configMapName); add it to \"namespaces\" first")
        }
        return try await ProfilePreview.make(client: client, namespace: namespace, profile: profile)
    }

    static func show(_ preview: ProfilePreview) {
        guard !preview.entries.isEmpty else {
            Swift.print("every pod in \(preview.namespace) already tolerates EVMs and selects them: nothing to restart")
            return
        }
        var rows = [["POD", "WOULD ADD", "RESTART"]]
        for entry in preview.entries {
            let how = entry.workload?.description ?? "recreate by hand (\(entry.owner ?? "bare pod"))"
            rows.append([entry.pod, entry.adds.joined(separator: ", "), how])
        }
        Swift.print(Table.render(rows))
        if !preview.workloads.isEmpty {
            Swift.print("workloads to restart: \(preview.workloads.map(\.description).joined(separator: " "))")
        }
    }
}
