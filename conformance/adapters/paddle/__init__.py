"""PaddlePaddle column: paddlepaddle (CPU) as the Chinese edition of Dive into Deep Learning
writes chapter 5 (深度学习计算).

Rule: nothing here imports paddle; `adapter.PaddleAdapter.load()` does. `models` holds the
user-level code (copied verbatim into snippets), `build` the spec -> Layer tree, `init` the
initializers, `session` the steps and observers, `snippet` the standalone reproductions.
"""
