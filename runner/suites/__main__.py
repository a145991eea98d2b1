"""``python -m runner.suites FILE ...``: the ``suite`` verb until ``python -m runner`` has it."""

import sys

from runner.suites import main

sys.exit(main())
