"""The `jax` column: JAX + Flax (linen), as the English edition of Dive into Deep Learning writes
its "Builders' guide" in JAX.

Rule: nothing here imports jax or flax; `adapter.JaxAdapter.load()` does. Modules: `adapter`
(load, devices, error kinds), `session` (one case), `build` (spec -> flax module tree and
canonical paths), `models` (user-level flax code), `snippet` (a standalone JAX program).
"""
