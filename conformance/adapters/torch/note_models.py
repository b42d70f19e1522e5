"""The other notes' FancyMLPs on torch (model `fancy_mlp: {variant}`), as user code.

Rule: "001" is note 001's FixedHiddenMLP exactly as written; "003" (TF) and "004" (MXNet,
10x10) are those notes' models written the same way in torch. An error raised here is the
framework's behaviour (`__conformance_user_code__`).
"""

from __future__ import annotations

__conformance_user_code__ = True


def fancy_variants(C) -> dict:
    """The notes' FancyMLPs on torch, by variant: "001" is note 001's FixedHiddenMLP exactly as
    written; "003" and "004" are the TF and 004 notes' models written the same way in torch."""
    torch, nn, F = C.torch, C.nn, C.torch.nn.functional

    class FixedHiddenMLP001(nn.Module):
        def __init__(self):
            super().__init__()
            # 不计算梯度的随机权重函数，因此其在训练期间保持不变
            self.rand_weight = torch.rand((20, 20), requires_grad=False)
            self.linear = nn.Linear(20, 20)

        def forward(self, X):
            X = self.linear(X)
            X = F.relu(torch.mm(X, self.rand_weight) + 1)
            X = self.linear(X)
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    class FancyMLP003(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.rand_weight = torch.rand((20, 20), requires_grad=False)
            self.dense = nn.Linear(20, 20)

        def forward(self, inputs):
            x = self.flatten(inputs)
            x = F.relu(torch.mm(x, self.rand_weight) + 1)
            x = F.relu(self.dense(x))
            while x.norm() > 1:
                x = x / 2
            if x.norm() < 0.8:
                x = x * 10
            return x.sum()

    class FancyMLP004(nn.Module):
        def __init__(self):
            super().__init__()
            self.rand_weight = torch.rand((10, 10), requires_grad=False)
            self.dense = nn.LazyLinear(10)

        def forward(self, x):
            x = F.relu(self.dense(x))
            x = F.relu(torch.mm(x, self.rand_weight) + 1)
            x = F.relu(self.dense(x))
            while x.norm() > 1:
                x = x / 2
            if x.norm() < 0.8:
                x = x * 10
            return x.sum()

    return {"001": (FixedHiddenMLP001, "linear"), "003": (FancyMLP003, "dense"), "004": (FancyMLP004, "dense")}
