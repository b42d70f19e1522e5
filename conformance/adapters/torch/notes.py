"""The torch note's own code (001) as probes and steps for issue 10 (claims ledger).

Rule: every probe calls torch as note 001 does (net[2].state_dict(), print(net[2].bias),
try_gpu(i) / try_all_gpus(), torch.load of a saved state dict) and reports what it returns;
Gluon's ParameterDict and Keras' kernel view are not torch concepts.
"""

from __future__ import annotations

from conformance.adapters.base import Unsupported
from conformance.adapters.notes_probes import dtype_name


class TorchNotesMixin:
    def _target_module(self, target):
        if target in (None, ""):
            return self.model
        return self.built.layers[target]

    def _path_by_storage(self, tensor):
        for path, slot in self.built.slots.items():
            p = slot.get()
            if p.device == tensor.device and p.data_ptr() == tensor.data_ptr() and p.shape == tensor.shape:
                return path
        return None

    def probe_state_dict(self, target=None):
        """001 参数管理: print(net[2].state_dict()); net.state_dict()['2.bias']."""
        state = self._target_module(target).state_dict()
        names = list(state)
        return {
            "container": type(state).__name__,
            "names": names,
            "shapes": {n: list(state[n].shape) for n in names},
            "dtypes": {n: dtype_name(state[n].dtype) for n in names},
            "attributes": {n: self._path_by_storage(state[n]) for n in names},
        }

    def probe_param_dict(self, target=None, select=None):
        nn = self.C.nn
        if target in (None, "") and select is None and isinstance(self.model, nn.ParameterDict):
            names = list(self.model.keys())  # torch's own ParameterDict (the kit's param_dict model)
            return {
                "container": type(self.model).__name__,
                "names": names,
                "shapes": {n: list(self.model[n].shape) for n in names},
                "dtypes": {n: dtype_name(self.model[n].dtype) for n in names},
                "attributes": {n: n for n in names},
                "text": repr(self.model),
            }
        raise Unsupported("torch has no ParameterDict keyed by native names and no regex selection: "
                          "the idioms are module.state_dict() / named_parameters() filtered in Python")

    def probe_keras_weights(self, target=None):
        raise Unsupported("torch: nn.Linear.weight is (out_features, in_features), named 'weight'; "
                          "there is no kernel (in, out)")

    def probe_param_repr(self, param):
        p = self._param(param)
        return {"text": repr(p), "class": type(p).__name__, "data_class": type(p.data).__name__}

    def probe_try_gpu(self, i=0):
        torch = self.torch
        # the note's try_gpu(i): cuda:i when there are at least i + 1 GPUs, else cpu
        device = torch.device(f"cuda:{i}") if torch.cuda.device_count() >= i + 1 else torch.device("cpu")
        return {"device": str(device), "canonical": "gpu" if device.type == "cuda" else "default"}

    def probe_try_all_gpus(self):
        torch = self.torch
        devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())] or [torch.device("cpu")]
        return {"devices": [str(d) for d in devices],
                "canonical": ["gpu" if d.type == "cuda" else "default" for d in devices]}

    def probe_saved_params(self, file):
        loaded = self.torch.load(self.file_path(file), weights_only=True)  # 001: torch.load('mlp.params')
        names = list(loaded) if isinstance(loaded, dict) else []
        return {"container": type(loaded).__name__, "names": names,
                "shapes": {n: list(loaded[n].shape) for n in names}}

    def probe_sequential_class(self):
        nn = self.C.nn
        return {"is_model": issubclass(nn.Sequential, nn.Module), "base": "Module", "class": nn.Sequential.__name__}

    def random(self, name, low=None, high=None, shape=None):
        if shape is None:
            raise Unsupported("torch.rand needs a size (torch.rand(()) is a 0-d tensor); "
                              "nd.random.uniform() with no shape has no torch counterpart")
        lo = 0.0 if low is None else low
        hi = 1.0 if high is None else high
        self.values[name] = self.torch.empty(tuple(shape)).uniform_(lo, hi)

    def attach_grad(self, value):
        self.named(value).requires_grad_()  # torch's attach_grad

    def add_out(self, a, b, out):
        return self.torch.add(a, b, out=out)

    def probe_np_save(self, values, kind="one"):
        """003 读取和存储: the note's np.save of the framework's tensors, then np.load without pickle."""
        from conformance.adapters.notes_probes import np_save_as_written

        return np_save_as_written(self, values, kind)

    def probe_prefix_names(self, prefix):
        raise Unsupported("torch.nn.Module.__init__ takes no prefix (or any keyword): parameter names "
                          "are attribute paths (weight, 0.bias)")
