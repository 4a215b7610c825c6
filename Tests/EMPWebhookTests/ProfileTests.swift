import EMPWebhook
import Testing

@Suite struct ProfileTests {
    @Test(arguments: [
        #"["default","my-application"]"#,
        "- default\n- my-application\n",
        "default\nmy-application\n",
        "  default   # the seed's example\n\nmy-application\n",
        "[\"default\", \"my-application\"]\n",
    ])
    func theThreeNamespaceFormatsReadTheSame(text: String) throws {
        let profile = try WebhookProfile.parse(["namespaces": text])
        #expect(profile == WebhookProfile(namespaces: ["default", "my-application"]))
    }

    @Test func labelsAreAJSONObjectOfStrings() throws {
        let profile = try WebhookProfile.parse(["namespaces": "default", "labels": #"{"emp":"true","tier":"web"}"#])
        #expect(profile.labels == ["emp": "true", "tier": "web"])
        #expect(profile.selects(namespace: "default", labels: ["emp": "true", "tier": "web", "x": "y"]))
        #expect(!profile.selects(namespace: "default", labels: ["emp": "true"]))
        #expect(!profile.selects(namespace: "other", labels: ["emp": "true", "tier": "web"]))
    }

    @Test(arguments: [
        (["labels": "{}"], "namespaces"),
        (["namespaces": "[default"], "namespaces"),
        (["namespaces": #"["default", 3]"#], "namespaces"),
        (["namespaces": "- default\n- [nested]"], "namespaces"),
        (["namespaces": "Default"], "namespaces"),
        (["namespaces": "my_app"], "namespaces"),
        (["namespaces": "default", "labels": "emp=true"], "labels"),
        (["namespaces": "default", "labels": #"{"emp": true}"#], "labels"),
        (["namespaces": "default", "labels": #"["emp"]"#], "labels"),
    ])
    func malformedKeysAreNamed(data: [String: String], key: String) {
        #expect {
            try WebhookProfile.parse(data)
        } throws: { error in
            (error as? ProfileError)?.key == key
        }
    }

    @Test func anEmptyListOptsNothingIn() throws {
        #expect(try WebhookProfile.parse(["namespaces": "[]"]).namespaces.isEmpty)
        #expect(try WebhookProfile.parse(["namespaces": ""]).namespaces.isEmpty)
    }
}
