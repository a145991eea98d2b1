"""The supervised worker process: the driver side, the child side and the pipe protocol
between them. Depends on the core only."""
