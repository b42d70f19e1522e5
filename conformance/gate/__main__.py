"""`python -m conformance.gate`: the gate's own command line (see `command.main`)."""

from conformance.gate.command import main

raise SystemExit(main())
