import EMPWebhook
import FuzzDriver

// AdmissionReview bodies through the webhook's handler, with a profile that opts these namespaces in.
let state = ProfileState()
state.set(WebhookProfile(namespaces: ["default", "fuzz", "kube-system"]))
let handler = AdmissionHandler(state: state)
runFuzzer { _ = try? handler.handle($0) }
