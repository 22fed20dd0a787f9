"""The sandbox: a client's test twin with simulated registers and test drives (docs/sandbox.md)."""
