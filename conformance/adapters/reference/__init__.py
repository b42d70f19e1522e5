"""The adapter for the bundled NumPy reference (`conformance.reference`), the specs' norm.

Rule: importing this package imports nothing; `adapter.ReferenceAdapter` is found through the
registry in `conformance.adapters`. The session (`session.py`) drives the reference the way
the notes drive Gluon and asserts nothing.
"""
