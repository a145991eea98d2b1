"""A script target in SMAC3's protocol: called as `train.py --seed=S --x=... --kind=...`, it
prints one line `cost=...; runtime=...; status=SUCCESS; additional_info=...`."""

import sys
import time

args = dict(arg[2:].split("=", 1) for arg in sys.argv[1:] if arg.startswith("--"))
started = time.perf_counter()
cost = (float(args["x"]) - 2) ** 2 + (0.0 if args["kind"] == "a" else 1.0)
print(f"cost={cost}; runtime={time.perf_counter() - started}; status=SUCCESS; "
      f"additional_info=seed {args.get('seed', '-')}")
