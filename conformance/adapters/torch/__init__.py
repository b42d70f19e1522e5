"""The PyTorch column: adapter, session, model classes (the notes' user code), builder,
initialization and snippet writer.

Rule: importing this package (or any module in it) never imports torch; `adapter.TorchAdapter`
imports it in `load()`. The registry in `conformance.adapters` names the adapter.
"""
