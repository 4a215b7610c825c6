#!/usr/bin/env python3
"""moto's EC2 (and every other) server on 127.0.0.1 at a free port, for the tests and the demo.

Prints "listening PORT" once it accepts connections, then serves until SIGTERM arrives or its parent exits.
Installed by scripts/ensure-python.sh (PyPI moto[server])."""
import os
import signal
import sys
import time

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 0, verbose=False)
server.start()
print(f"listening {server.get_host_and_port()[1]}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
# A parent may spawn us with SIGTERM blocked (its mask is inherited): take it back.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
parent = os.getppid()
while os.getppid() == parent:
    time.sleep(1)
server.stop()
