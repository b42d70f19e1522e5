"""PaddlePaddle column: paddlepaddle (CPU) as the Paddle tab of the Chinese edition of Dive
into Deep Learning writes chapter 5 (深度学习计算).

Rule: nothing here imports paddle; `adapter.PaddleAdapter.load()` does. `idiom` writes each
case's program, `notes_code` holds the notes' classes in Paddle (program text, never imported).
"""
