import EMPControlPlane
import FuzzDriver

// Operator request bodies: pool create/update, EVM create, tokens, maintenance, migrate, interrupt.
runFuzzer { UntrustedInput.operatorBody($0) }
