"""The MXNet 1.x (Gluon) column: the adapter, the Gluon idiom with MXNet's names, and the
notes' user code in MXNet (`notes_code.py`, program text).

Rule: importing this package (or any module in it) never imports MXNet; `adapter.MxnetAdapter`
imports it in `load()`. The registry in `conformance.adapters` names the adapter.
"""
