"""Generate a realistic AMI event stream from the ringwatch simulator (Asterisk 22 wire bytes)."""

import sys

from monitor.simulator.config import default_config
from monitor.simulator.engine import ContactCentre
from monitor.simulator.wire import render

cc = ContactCentre(default_config(), seed=7)
out = cc.run_until(cc.now + 8 * 3600)
data = b"".join(render(t, m, True) for t, m in out)
with open(sys.argv[1], "wb") as f:
    f.write(data)
print(f"{len(out)} events, {len(data)} bytes, {len(cc.truth)} calls")
