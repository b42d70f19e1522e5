"""Conformance kit for deep-learning framework behaviour.

Importing this package never imports a framework: adapters import theirs lazily.
"""

__version__ = "0.1.0"
