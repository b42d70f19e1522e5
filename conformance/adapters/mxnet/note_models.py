"""The other notes' FancyMLPs on Gluon (model `fancy_mlp: {variant}`), as user code.

Rule: "004" is note 004's 10x10 FancyMLP exactly as written; "001" (torch's FixedHiddenMLP)
and "003" (TF) are written the same way in Gluon, in-place updates included. MXNet is
imported inside `fancy_variants()`. An error raised here is the framework's behaviour.
"""

from __future__ import annotations

__conformance_user_code__ = True


def fancy_variants() -> dict:
    """The notes' FancyMLPs on Gluon, by variant: "004" is note 004's (10x10) exactly as written;
    "001" (torch's FixedHiddenMLP) and "003" (TF's) are written the same way in Gluon."""
    from mxnet import nd
    from mxnet.gluon import nn

    class FixedHiddenMLP001(nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
            self.linear = nn.Dense(20, in_units=20)

        def forward(self, X):
            X = self.linear(X)
            X = nd.relu(nd.dot(X, self.rand_weight.data()) + 1)
            X = self.linear(X)
            while X.abs().sum().asscalar() > 1:
                X /= 2
            return X.sum()

    class FancyMLP003(nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.flatten = nn.Flatten()
            self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
            self.dense = nn.Dense(20, activation="relu", in_units=20)

        def forward(self, inputs):
            x = self.flatten(inputs)
            x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
            x = self.dense(x)
            while x.norm().asscalar() > 1:
                x /= 2
            if x.norm().asscalar() < 0.8:
                x *= 10
            return x.sum()

    class FancyMLP004(nn.Block):
        def __init__(self, **kwargs):
            super(FancyMLP004, self).__init__(**kwargs)
            self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(10, 10)))
            self.dense = nn.Dense(10, activation="relu")

        def forward(self, x):
            x = self.dense(x)
            x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
            x = self.dense(x)
            while x.norm().asscalar() > 1:
                x /= 2
            if x.norm().asscalar() < 0.8:
                x *= 10
            return x.sum()

    return {"001": FixedHiddenMLP001, "003": FancyMLP003, "004": FancyMLP004}


def MySequentialByObject():
    """Note 001's MySequential (`self._modules[block] = block`) written for Gluon:
    `self._children[block] = block`, the child itself as its key."""
    from mxnet.gluon import nn

    class MySequentialByObject(nn.Block):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def add(self, block):
            self._children[block] = block

        def forward(self, x):
            for block in self._children.values():
                x = block(x)
            return x

    return MySequentialByObject
