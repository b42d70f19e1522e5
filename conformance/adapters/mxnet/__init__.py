"""The MXNet 1.x (Gluon) column: adapter, session, the notes' Gluon blocks, initializers,
canonical paths, error kinds and snippet writer.

Rule: importing this package (or any module in it) never imports MXNet; `adapter.MxnetAdapter`
imports it in `load()`. The registry in `conformance.adapters` names the adapter.
"""
