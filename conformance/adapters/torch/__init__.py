"""The PyTorch column: the adapter (version, devices), the torch idiom of the program writer,
and the notes' user code in torch (`notes_code.py`, program text never imported).

Rule: importing this package (or any module in it) never imports torch; `adapter.TorchAdapter`
imports it in `load()`. The registry in `conformance.adapters` names the adapter.
"""
