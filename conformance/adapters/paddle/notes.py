"""The notes' own code as probes and steps, the Paddle way (issue 10's claims ledger).

Rule: every probe calls Paddle as the Chinese edition writes it (net[2].state_dict(),
print(net[2].bias), try_gpu(i) / try_all_gpus() with paddle.CUDAPlace, paddle.load of a saved
state dict) and reports what it returns; Gluon's ParameterDict keyed by native names and
Keras' weight list are not Paddle concepts (Unsupported, naming Paddle's idiom).
"""

from __future__ import annotations

from conformance.adapters.base import Unsupported
from conformance.adapters.notes_probes import dtype_name, np_save_as_written
from conformance.adapters.paddle.models import is_parameter_dict


class PaddleNotesMixin:
    def _target_layer(self, target):
        if target in (None, ""):
            return self.model
        return self.built.layers[target]

    def _path_of(self, tensor):
        for path, slot in self.built.slots.items():
            p = slot.get()
            if p is tensor or (p.data_ptr() == tensor.data_ptr() and list(p.shape) == list(tensor.shape)):
                return path
        return None

    def _dict_view(self, state) -> dict:
        names = list(state)
        return {
            "container": type(state).__name__,
            "names": names,
            "shapes": {n: [int(d) for d in state[n].shape] for n in names},  # native layout
            "dtypes": {n: dtype_name(str(state[n].dtype).replace("paddle.", "")) for n in names},
            "attributes": {n: self._path_of(state[n]) for n in names},
        }

    def probe_state_dict(self, target=None):
        """The book: print(net[2].state_dict()); net.state_dict()['2.bias']."""
        return self._dict_view(self._target_layer(target).state_dict())

    def probe_param_dict(self, target=None, select=None):
        if target in (None, "") and select is None and is_parameter_dict(self.model):
            view = self._dict_view(dict(self.model.named_parameters()))
            view["container"] = type(self.model).__name__  # Paddle's own nn.ParameterDict
            view["text"] = repr(self.model)
            return view
        raise Unsupported("paddle has no ParameterDict keyed by native names and no regex selection: "
                          "the idioms are layer.state_dict() / named_parameters() filtered in Python")

    def probe_keras_weights(self, target=None):
        raise Unsupported("paddle has no Keras weights list: net.parameters() gives nn.Linear weights stored "
                          "(in, out) like a Keras kernel, but named weight (linear_0.w_0), not kernel")

    def probe_param_repr(self, param):
        p = self._param(param)
        return {"text": repr(p), "class": type(p).__name__, "data_class": type(p.data).__name__}

    def probe_try_gpu(self, i=0):
        paddle = self.paddle
        # the book's try_gpu(i): paddle.CUDAPlace(i) when there are at least i + 1 GPUs, else CPUPlace()
        count = paddle.device.cuda.device_count()
        place = paddle.CUDAPlace(i) if count >= i + 1 else paddle.CPUPlace()
        return {"device": str(place), "canonical": "gpu" if count >= i + 1 else "default"}

    def probe_try_all_gpus(self):
        paddle = self.paddle
        count = paddle.device.cuda.device_count()
        places = [paddle.CUDAPlace(i) for i in range(count)] or [paddle.CPUPlace()]
        return {"devices": [str(p) for p in places], "canonical": ["gpu"] * count or ["default"]}

    def probe_saved_params(self, file):
        loaded = self.paddle.load(self.file_path(file))  # the book: paddle.load('mlp.params')
        names = list(loaded) if isinstance(loaded, dict) else []
        return {"container": type(loaded).__name__, "names": names,
                "shapes": {n: [int(d) for d in loaded[n].shape] for n in names}}

    def probe_sequential_class(self):
        nn = self.C.nn
        return {"is_model": issubclass(nn.Sequential, nn.Layer), "base": "Layer", "class": nn.Sequential.__name__}

    def probe_prefix_names(self, prefix):
        """004's MyDense(in_units=5, units=3, prefix=...): Paddle's nn.Layer takes name_scope, which
        names the parameters the layer creates (<name_scope>_<n>.w_0)."""
        dense = self.C.MyDenseKwargs(in_units=5, units=3, name_scope=prefix)
        return {"prefix": prefix, "full_name": dense.full_name(), "names": [p.name for p in dense.parameters()]}

    def probe_np_save(self, values, kind="one"):
        """003 读取和存储: np.save of the framework's tensors, then np.load without pickle."""
        return np_save_as_written(self, values, kind)

    # -- steps of the notes --------------------------------------------------
    def random(self, name, low=None, high=None, shape=None):
        if shape is None:
            raise Unsupported("paddle.uniform(shape, min=0, max=1) and paddle.rand(shape) need a shape; "
                              "nd.random.uniform() with no shape has no Paddle counterpart")
        kwargs = {}
        if low is not None:
            kwargs["min"] = float(low)
        if high is not None:
            kwargs["max"] = float(high)
        self.values[name] = self.paddle.uniform(list(shape), **kwargs)

    def attach_grad(self, value):
        self.named(value).stop_gradient = False  # Paddle's attach_grad: tensors stop gradient by default

    def add_out(self, a, b, out):
        return self.paddle.add(a, b, out=out)

    def norm(self, x):
        return self.paddle.linalg.norm(x)
