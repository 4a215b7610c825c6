import Foundation

extension KubeConfig {
    /// kubectl's merge of several files: per name, the first definition wins; so does the first current-context.
    /// Each entry remembers its file, because relative paths inside it resolve against that file's directory.
    struct Merged {
        struct Entry<Value> {
            var value: Value
            var file: String
            var index: Int
        }

        var clusters: [String: Entry<KubeConfigFile.Cluster>] = [:]
        var users: [String: Entry<KubeConfigFile.User>] = [:]
        var contexts: [String: Entry<KubeConfigFile.Context>] = [:]
        var currentContext: (name: String, file: String)?

        mutating func add(_ config: KubeConfigFile, from file: String) {
            for (index, item) in (config.clusters ?? []).enumerated() where clusters[item.name] == nil {
                clusters[item.name] = Entry(value: item.cluster, file: file, index: index)
            }
            for (index, item) in (config.users ?? []).enumerated() where users[item.name] == nil {
                users[item.name] = Entry(value: item.user, file: file, index: index)
            }
            for (index, item) in (config.contexts ?? []).enumerated() where contexts[item.name] == nil {
                contexts[item.name] = Entry(value: item.context, file: file, index: index)
            }
            if currentContext == nil, let name = config.currentContext, !name.isEmpty { currentContext = (name, file) }
        }

        func resolve(context requested: String?) throws -> KubeConfig {
            guard let name = requested ?? currentContext?.name else {
                throw KubeConfigError(
                    file: currentContext?.file ?? "kubeconfig", key: "current-context", "is not set and no context was given")
            }
            guard let context = contexts[name] else {
                throw KubeConfigError(
                    file: currentContext?.file ?? "kubeconfig", key: "current-context", "context \"\(name)\" is not defined")
            }
            let contextKey = "contexts[\(context.index)].context"
            guard let cluster = clusters[context.value.cluster] else {
                throw KubeConfigError(
                    file: context.file, key: "\(contextKey).cluster", "cluster \"\(context.value.cluster)\" is not defined")
            }
            let clusterKey = "clusters[\(cluster.index)].cluster"
            guard URL(string: cluster.value.server)?.scheme != nil else {
                throw KubeConfigError(file: cluster.file, key: "\(clusterKey).server", "\"\(cluster.value.server)\" is not a URL")
            }
            var user: Entry<KubeConfigFile.User>?
            if let userName = context.value.user, !userName.isEmpty {
                guard let found = users[userName] else {
                    throw KubeConfigError(file: context.file, key: "\(contextKey).user", "user \"\(userName)\" is not defined")
                }
                user = found
            }
            let userKey = user.map { "users[\($0.index)].user" } ?? ""
            let ca = try material(
                data: cluster.value.certificateAuthorityData, path: cluster.value.certificateAuthority,
                file: cluster.file, key: "\(clusterKey).certificate-authority"
            )
            let certificate = try user.flatMap {
                try material(
                    data: $0.value.clientCertificateData, path: $0.value.clientCertificate, file: $0.file,
                    key: "\(userKey).client-certificate")
            }
            let key = try user.flatMap {
                try material(data: $0.value.clientKeyData, path: $0.value.clientKey, file: $0.file, key: "\(userKey).client-key")
            }
            if (certificate == nil) != (key == nil), let user {
                throw KubeConfigError(file: user.file, key: userKey, "client-certificate and client-key must be given together")
            }
            var credentials = Credentials.none
            if let user {
                if let exec = user.value.exec {
                    var resolved = exec
                    if exec.command.contains("/"), !exec.command.hasPrefix("/") {
                        resolved.command = KubeConfig.absolute(exec.command, relativeTo: user.file)
                    }
                    credentials = .exec(resolved)
                } else if let token = user.value.token, !token.isEmpty {
                    credentials = .token(token)
                } else if let tokenFile = user.value.tokenFile {
                    credentials = .tokenFile(KubeConfig.absolute(tokenFile, relativeTo: user.file))
                }
            }
            return KubeConfig(
                server: cluster.value.server,
                namespace: context.value.namespace ?? "default",
                certificateAuthorityPEM: ca,
                insecureSkipTLSVerify: cluster.value.insecureSkipTLSVerify ?? false,
                tlsServerName: cluster.value.tlsServerName,
                clientCertificatePEM: certificate,
                clientKeyPEM: key,
                credentials: credentials
            )
        }

        /// `*-data` (base64) wins over the path form, as in kubectl.
        private func material(data: String?, path: String?, file: String, key: String) throws -> Data? {
            if let data, !data.isEmpty {
                guard let decoded = Data(base64Encoded: data.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw KubeConfigError(file: file, key: "\(key)-data", "is not valid base64")
                }
                return decoded
            }
            guard let path, !path.isEmpty else { return nil }
            let absolute = KubeConfig.absolute(path, relativeTo: file)
            guard let contents = FileManager.default.contents(atPath: absolute) else {
                throw KubeConfigError(file: file, key: key, "cannot read \(absolute)")
            }
            return contents
        }
    }

    /// Resolves `path` against the directory of `file` unless it is absolute.
    static func absolute(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(path).path
    }
}
