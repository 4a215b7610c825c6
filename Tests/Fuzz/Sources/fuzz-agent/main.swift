import EMPControlPlane
import FuzzDriver

// Agent joins, usage reports (checked and recorded) and migration updates.
runFuzzer { UntrustedInput.agentBody($0) }
