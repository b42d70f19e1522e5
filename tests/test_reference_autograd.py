"""The reference autograd: every op's gradient against central finite differences (float64),
and MXNet's recording rules (implicit sum, head gradient, retain_graph, overwrite, shared
leaves, devices, in-place writes inside a recording, dropout, training mode)."""

from __future__ import annotations

import numpy as np
import pytest

from conformance import reference as ref
from conformance.reference import autograd, ops

EPS = 1e-6


def _numeric_grad(loss, arrays, index):
    """d loss / d arrays[index] by central differences."""
    base = arrays[index]
    grad = np.zeros_like(base)
    for pos in np.ndindex(base.shape):
        saved = base[pos]
        base[pos] = saved + EPS
        up = loss(arrays)
        base[pos] = saved - EPS
        down = loss(arrays)
        base[pos] = saved
        grad[pos] = (up - down) / (2 * EPS)
    return grad


def gradcheck(fn, *arrays, seed=0):
    """Compare autograd with finite differences for sum(fn(*xs) * W), W a fixed random head."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    out_shape = np.shape(fn(*[ref.Tensor(a) for a in arrays])._data)
    weights = np.random.default_rng(seed + 100).normal(size=out_shape)

    def loss(values):
        return float((fn(*[ref.Tensor(v) for v in values])._data * weights).sum())

    tensors = [ref.Tensor(a) for a in arrays]
    for t in tensors:
        t.attach_grad()
    with autograd.record():
        out = fn(*tensors)
    out.backward(ref.Tensor(weights))
    for i, t in enumerate(tensors):
        expected = _numeric_grad(loss, arrays, i)
        np.testing.assert_allclose(
            t.grad._data, expected, rtol=1e-5, atol=1e-6, err_msg=f"gradient of operand {i}"
        )


def _normal(*shape, seed=0, away_from_zero=False):
    x = np.random.default_rng(seed).normal(size=shape)
    if away_from_zero:
        x = np.where(np.abs(x) < 0.1, 0.5, x)  # keep finite differences off relu's kink
    return x


OPS = {
    "add": (lambda a, b: a + b, [(3, 4), (3, 4)]),
    "sub": (lambda a, b: a - b, [(3, 4), (3, 4)]),
    "mul": (lambda a, b: a * b, [(3, 4), (3, 4)]),
    "div": (lambda a, b: a / (b * b + 1.0), [(3, 4), (3, 4)]),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 5)]),
    "dot_vec_mat": (lambda a, b: ref.dot(a, b), [(4,), (4, 2)]),
    "dot_mat_vec": (lambda a, b: ref.dot(a, b), [(3, 4), (4,)]),
    "relu": (lambda a: ref.relu(a), [(4, 5)]),
    "sum_all": (lambda a: a.sum(), [(3, 4)]),
    "sum_axis": (lambda a: a.sum(axis=0), [(3, 4)]),
    "sum_keepdims": (lambda a: a.sum(axis=1, keepdims=True), [(3, 4)]),
    "mean_all": (lambda a: a.mean(), [(3, 4)]),
    "mean_axis": (lambda a: a.mean(axis=1), [(3, 4)]),
    "reshape": (lambda a: a.reshape(4, 3) * a.reshape((4, 3)), [(3, 4)]),
    "flatten": (lambda a: a.flatten(), [(2, 3, 4)]),
    "norm": (lambda a: a.norm(), [(3, 4)]),
    "getitem_slice": (lambda a: a[1:, ::2], [(3, 4)]),
    "getitem_int": (lambda a: a[1], [(3, 4)]),
    "getitem_repeated": (lambda a: a[np.array([0, 2, 0])], [(3, 4)]),
    "power": (lambda a: a**3, [(3, 4)]),
    "scalar_ops": (lambda a: (3.0 - a) * 2.0 + 1.0 / (a * a + 2.0) - a / 4.0, [(3, 4)]),
    "neg": (lambda a: -a, [(3, 4)]),
    "transpose": (lambda a: a.T, [(3, 4)]),
    "abs": (lambda a: a.abs(), [(3, 4)]),
    "broadcast_row": (lambda a, b: a + b, [(3, 4), (4,)]),
    "broadcast_col_mul": (lambda a, b: a * b, [(3, 4), (3, 1)]),
    "broadcast_both": (lambda a, b: a * b - a, [(3, 1), (1, 4)]),
    "two_x_squared": (lambda a: 2 * a * a, [(2, 2)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_gradient_matches_finite_differences(name):
    fn, shapes = OPS[name]
    arrays = [_normal(*s, seed=i, away_from_zero=True) for i, s in enumerate(shapes)]
    gradcheck(fn, *arrays)


def test_dense_layer_gradient_matches_finite_differences():
    x = _normal(2, 5, seed=1)
    w = _normal(3, 5, seed=2)
    b = _normal(3, seed=3)
    gradcheck(lambda x, w, b: ref.relu(ref.dot(x, w.T) + b), x, w, b)


def test_broadcast_gradient_is_reduced_to_the_operand_shape():
    a = ref.Tensor(np.ones((3, 4)))
    b = ref.Tensor(np.ones((4,)))
    b.attach_grad()
    with autograd.record():
        y = a * b
    y.backward()
    assert b.grad.shape == (4,)
    np.testing.assert_array_equal(b.grad._data, np.full(4, 3.0))


def test_two_x_squared_gradient_is_four_x():
    x = ref.array([[1.0, 2.0], [3.0, 4.0]])
    x.attach_grad()
    with autograd.record():
        y = x * 2
        z = y * x
    z.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), 4 * x.asnumpy())


def test_non_scalar_backward_sums_implicitly():
    data = _normal(3, 4, seed=4)
    x = ref.Tensor(data)
    x.attach_grad()
    with autograd.record():
        y = x * x
    y.backward()  # no head: same as y.sum().backward()
    np.testing.assert_allclose(x.grad._data, 2 * data)


def test_head_gradient_multiplies_the_result():
    data = _normal(2, 3, seed=5)
    head = _normal(2, 3, seed=6)
    x = ref.Tensor(data)
    x.attach_grad()
    with autograd.record():
        z = 2 * x * x
    z.backward(ref.Tensor(head))
    np.testing.assert_allclose(x.grad._data, head * 4 * data)


def test_head_of_the_wrong_shape_is_refused():
    x = ref.Tensor(np.ones((2, 3)))
    x.attach_grad()
    with autograd.record():
        y = x * 2
    with pytest.raises(ref.ShapeMismatchError):
        y.backward(ref.Tensor(np.ones((3, 2))))


def test_second_backward_without_retain_graph_raises_graph_freed():
    x = ref.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = x * 2
        z = y * x
    z.backward()
    with pytest.raises(ref.GraphFreedError, match="graph freed"):
        z.backward()
    with pytest.raises(ref.GraphFreedError, match="retain_graph=True"):
        y.backward()  # 002: the intermediate's graph went with z's


def test_retain_graph_allows_a_second_backward_then_frees():
    x = ref.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        z = x * x
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [2.0, 4.0])
    with pytest.raises(ref.GraphFreedError):
        z.backward()


def test_a_new_op_on_a_freed_value_cannot_be_differentiated():
    x = ref.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = x * x
    y.backward()
    with autograd.record():
        w = y.sum()
    with pytest.raises(ref.GraphFreedError):
        w.backward()


def test_backward_outside_any_recording_is_refused():
    x = ref.array([1.0, 2.0])
    x.attach_grad()
    y = x * 2
    with pytest.raises(ref.NotInGraphError, match="record"):
        y.backward()


def test_two_backward_passes_overwrite_the_gradient():
    x = ref.array([[1.0, 2.0], [3.0, 4.0]])
    x.attach_grad()
    for _ in range(2):
        with autograd.record():
            z = x * x
        z.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), 2 * x.asnumpy())  # not 4x: 'write'


def test_a_leaf_used_twice_accumulates_within_one_backward():
    data = _normal(3, seed=7)
    x = ref.Tensor(data)
    x.attach_grad()
    with autograd.record():
        z = x * x + x * 3.0 + x
    z.backward()
    np.testing.assert_allclose(x.grad._data, 2 * data + 4.0)


def test_a_shared_layer_receives_the_sum_of_both_uses():
    shared = ref.Dense(3, in_units=3, activation="relu")
    net = ref.Sequential().add(shared, shared)
    net.initialize(ref.init.Normal(sigma=1.0), seed=1)
    x = ref.Tensor(np.random.default_rng(2).uniform(0.5, 1.0, size=(2, 3)))
    with autograd.record():
        y = net(x)
    y.backward()
    tied = shared.weight.grad().asnumpy()

    first = ref.Dense(3, in_units=3, activation="relu")
    second = ref.Dense(3, in_units=3, activation="relu")
    untied = ref.Sequential().add(first, second)
    untied.initialize()
    for layer in (first, second):
        layer.weight.set_data(shared.weight.data())
        layer.bias.set_data(shared.bias.data())
    with autograd.record():
        y2 = untied(x)
    y2.backward()
    expected = first.weight.grad().asnumpy() + second.weight.grad().asnumpy()
    assert np.any(tied)
    np.testing.assert_allclose(tied, expected, rtol=1e-6)


def test_an_op_on_two_devices_raises_device_mismatch_naming_both():
    a = ref.array([1.0, 2.0])
    b = ref.array([1.0, 2.0], device=ref.vdev(1))
    with pytest.raises(ref.DeviceMismatchError) as info:
        a + b
    assert "cpu(0)" in str(info.value) and "vdev(1)" in str(info.value)
    with pytest.raises(ref.DeviceMismatchError):
        ref.dot(ref.ones((2, 2)), ref.ones((2, 2), device="vdev(1)"))


def test_ops_on_one_device_stay_there():
    a = ref.array([1.0, 2.0], device=ref.vdev(1))
    assert (a * a + 1.0).device == ref.vdev(1)


def test_copyto_always_new_memory_as_in_context_shares_on_the_same_device():
    x = ref.array([1.0, 2.0, 3.0])
    same = x.copyto(ref.cpu(0))
    assert not np.shares_memory(same._data, x._data)
    assert x.as_in_context(ref.cpu(0)) is x
    moved = x.as_in_context(ref.vdev(1))
    assert moved.device == ref.vdev(1) and not np.shares_memory(moved._data, x._data)


def test_in_place_write_inside_recording_is_refused():
    x = ref.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        with pytest.raises(ref.InplaceInRecordingError, match="in-place"):
            x[0] = 0
        y = x * 2
        with pytest.raises(ref.InplaceInRecordingError):
            y[:] = 1
    np.testing.assert_array_equal(x.asnumpy(), [1.0, 2.0, 3.0])
    x[0] = 0  # outside recording it writes in place
    assert x.asnumpy()[0] == 0


def test_in_place_write_inside_recording_to_a_plain_array_is_allowed():
    plain = ref.array([1.0, 2.0])
    with autograd.record():
        plain[0] = 5.0
    assert plain.asnumpy()[0] == 5.0


def test_recording_switches_to_training_mode():
    assert not autograd.is_training()
    with autograd.record():
        assert autograd.is_training() and autograd.is_recording()
    with autograd.record(train_mode=False):
        assert not autograd.is_training()
    assert not autograd.is_recording()


def test_dropout_in_training_zeros_about_p_and_scales_the_rest():
    x = ref.Tensor(np.ones((200, 50), dtype=np.float32))
    with ref.rng.use(np.random.default_rng(3)), autograd.record():
        y = ref.dropout(x, 0.3)
    out = y.asnumpy()
    assert abs(np.mean(out == 0) - 0.3) < 0.02
    np.testing.assert_allclose(out[out != 0], 1 / 0.7, rtol=1e-6)


def test_dropout_gradient_uses_the_same_mask():
    x = ref.Tensor(np.ones((10, 10)))
    x.attach_grad()
    with ref.rng.use(np.random.default_rng(4)), autograd.record():
        y = ref.dropout(x, 0.5)
    y.backward()
    np.testing.assert_allclose(x.grad._data, y._data)  # d(mask * x / 0.5)/dx = mask / 0.5


def test_dropout_in_prediction_mode_is_the_identity():
    x = ref.Tensor(np.arange(6.0).reshape(2, 3))
    with autograd.record(train_mode=False):
        y = ref.dropout(x, 0.5)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    np.testing.assert_array_equal(ops.dropout(x, 0.5).asnumpy(), x.asnumpy())


def test_rebinding_loses_the_gradient_in_place_update_keeps_it():
    w = ref.array([1.0, 2.0])
    w.attach_grad()
    with autograd.record():
        (w * w).backward()
    rebound = w - 0.1 * w.grad
    assert rebound.grad is None
    w[:] = w - 0.1 * w.grad
    assert w.grad is not None
    np.testing.assert_allclose(w.asnumpy(), [0.8, 1.6])
