"""PyTorch user-level code: the notes' nn.Module subclasses and their parameter-access idioms.

Rule: this module holds only what a torch user writes, so an error raised here is torch's
behaviour, not a kit bug (`__conformance_user_code__`). torch is imported only inside
`classes()`, called from `TorchAdapter.load()`, never at import time.
"""

from __future__ import annotations

from types import SimpleNamespace

__conformance_user_code__ = True

_CLASSES = None


def classes() -> SimpleNamespace:
    """The nn.Module subclasses of the notes, defined once torch is importable."""
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _define()
    return _CLASSES


def _define() -> SimpleNamespace:
    import torch
    from torch import nn
    from torch.nn import functional as F
    from torch.nn.modules.lazy import LazyModuleMixin
    from torch.nn.parameter import UninitializedParameter

    def linear(units, in_units=None, bias=True):
        # Without an input size the idiomatic deferred layer is nn.LazyLinear.
        return nn.Linear(in_units, units, bias=bias) if in_units else nn.LazyLinear(units, bias=bias)

    class MLP(nn.Module):
        def __init__(self, in_units=None):
            super().__init__()
            self.hidden = linear(256, in_units)
            self.output = linear(10, 256 if in_units else None)

        def forward(self, X):
            return self.output(F.relu(self.hidden(X)))

    class MLPNoSuper(nn.Module):
        def __init__(self, in_units=None):  # the note's mistake: no super().__init__()
            self.hidden = linear(256, in_units)
            self.output = linear(10, 256 if in_units else None)

        def forward(self, X):
            return self.output(F.relu(self.hidden(X)))

    class ListMLP(nn.Module):
        def __init__(self, in_units=None):
            super().__init__()
            # A plain list: nn.Module registers only Module/Parameter attributes, not lists.
            self.layers = [linear(256, in_units), linear(10, 256 if in_units else None)]

        def forward(self, X):
            return self.layers[1](F.relu(self.layers[0](X)))

    class MySequential(nn.Module):
        def __init__(self, *args):
            super().__init__()
            for idx, module in enumerate(args):
                # d2l 2nd ed keys `_modules` by str(idx); the note keys it by the module
                # itself, which torch 2.x cannot name (see NoteMySequential).
                self._modules[str(idx)] = module

        def forward(self, X):
            for block in self._modules.values():
                X = block(X)
            return X

    class NoteMySequential(nn.Module):
        """The note's literal version: `self._modules[block] = block`."""

        def __init__(self, *args):
            super().__init__()
            for block in args:
                self._modules[block] = block

        def forward(self, X):
            for block in self._modules.values():
                X = block(X)
            return X

    class FixedHiddenMLP(nn.Module):
        def __init__(self):
            super().__init__()
            # Not a Parameter and not a buffer: excluded from parameters(), state_dict()
            # and .to(device), as in the note.
            self.rand_weight = torch.rand((20, 20), requires_grad=False)
            self.linear = nn.Linear(20, 20)

        def forward(self, X):
            X = F.relu(self.linear(X))
            X = F.relu(torch.mm(X, self.rand_weight) + 1)
            X = F.relu(self.linear(X))  # the same layer again: shared parameters
            # Out of place: `X /= 2` would modify relu's saved output and break backward.
            while X.norm() > 1:
                X = X / 2
            if X.norm() < 0.8:
                X = X * 10
            return X.sum()

    class NestMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.LazyLinear(64), nn.ReLU(), nn.LazyLinear(32), nn.ReLU())
            self.linear = nn.LazyLinear(16)

        def forward(self, X):
            return F.relu(self.linear(self.net(X)))

    class CenteredLayer(nn.Module):
        def forward(self, X):
            return X - X.mean()

    class MyLinear(nn.Module):
        def __init__(self, in_units, units, read_via_data=False):
            super().__init__()
            self.read_via_data = read_via_data
            self.weight = nn.Parameter(torch.randn(in_units, units))
            self.bias = nn.Parameter(torch.randn(units))

        def reset_parameters(self):
            # Not in the note; the nn.Module convention, redrawing as the constructor does.
            with torch.no_grad():
                self.weight.normal_()
                self.bias.normal_()

        def forward(self, X):
            if self.read_via_data:  # as the note: .data detaches the parameters
                return F.relu(torch.matmul(X, self.weight.data) + self.bias.data)
            return F.relu(torch.matmul(X, self.weight) + self.bias)

    class LazyMyLinear(LazyModuleMixin, MyLinear):
        """MyLinear without in_units: weight created at the first call, like LazyLinear."""

        cls_to_become = MyLinear

        def __init__(self, units, read_via_data=False):
            nn.Module.__init__(self)
            self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
            self._initialize_hook = self.register_forward_pre_hook(
                self._infer_parameters, with_kwargs=True
            )
            self.units = units
            self.read_via_data = read_via_data
            self.weight = UninitializedParameter()
            self.bias = UninitializedParameter()

        def reset_parameters(self):
            if not self.has_uninitialized_params():
                with torch.no_grad():
                    self.weight.normal_()
                    self.bias.normal_()

        def initialize_parameters(self, X):
            if self.has_uninitialized_params():
                with torch.no_grad():
                    self.weight.materialize((X.shape[-1], self.units))
                    self.bias.materialize((self.units,))
                    self.reset_parameters()

    return SimpleNamespace(
        torch=torch, nn=nn, F=F, linear=linear, MLP=MLP, MLPNoSuper=MLPNoSuper, ListMLP=ListMLP,
        MySequential=MySequential, NoteMySequential=NoteMySequential,
        FixedHiddenMLP=FixedHiddenMLP, NestMLP=NestMLP, CenteredLayer=CenteredLayer,
        MyLinear=MyLinear, LazyMyLinear=LazyMyLinear,
    )


def write_data(param, add=None, set=None, fill=None) -> None:
    """The note's writes through .data: `net[2].weight.data[0, 0] = 100`, `data += 1`."""
    data = param.data
    if add is not None:
        data += add
    if set is not None:
        data[tuple(set["index"])] = set["value"]
    if fill is not None:
        data.fill_(fill)


def host_copy(tensor):
    """`t.detach().cpu().numpy()`: the idiom for reading a tensor's values on the host."""
    return tensor.detach().cpu().numpy()
