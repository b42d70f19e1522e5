"""The `jax` column: JAX + Flax (linen), as the JAX tab of Dive into Deep Learning writes it.

Rule: nothing here imports jax or flax; `adapter.JaxAdapter.load()` does. Modules: `adapter`
(load, devices, the programs' environment), `idiom` (the program writer's table: models,
steps, observations, probes in JAX), `notes_code` (the notes' classes in flax, program text).
"""
