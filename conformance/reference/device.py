"""Virtual devices: every array lives on one; an op never mixes two.

There are two devices, "cpu(0)" (the default, the host) and "vdev(1)" (a second,
virtual device backed by host memory), and no GPU. Moving data between devices
always copies, so a device behaves like separate memory even though it is not.
"""

from __future__ import annotations

from .errors import DeviceMismatchError


class Device:
    """A device name such as "cpu(0)"; equal names are the same device."""

    __slots__ = ("index", "kind")

    def __init__(self, kind: str, index: int = 0):
        self.kind = kind
        self.index = index

    def __str__(self) -> str:
        return f"{self.kind}({self.index})"

    __repr__ = __str__

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and (self.kind, self.index) == (other.kind, other.index)

    def __hash__(self) -> int:
        return hash((self.kind, self.index))


def cpu(index: int = 0) -> Device:
    return Device("cpu", index)


def vdev(index: int = 1) -> Device:
    return Device("vdev", index)


def default_device() -> Device:
    return cpu(0)


def available() -> list[Device]:
    """Every device an array can be placed on, default first."""
    return [cpu(0), vdev(1)]


def num_gpus() -> int:
    return 0


def try_gpu(index: int = 0) -> Device:
    """The GPU if there is one, else the default device (d2l's try_gpu)."""
    return Device("gpu", index) if index < num_gpus() else default_device()


def parse(name) -> Device:
    """Accept a Device or its name ("cpu(0)", "vdev(1)")."""
    if isinstance(name, Device):
        return name
    text = str(name).strip()
    kind, _, rest = text.partition("(")
    index = int(rest.rstrip(")") or 0) if rest else 0
    device = Device(kind, index)
    if device not in available():
        raise ValueError(f"unknown device {text!r}; available: {', '.join(map(str, available()))}")
    return device


def check_same_device(op: str, devices) -> None:
    """Raise DeviceMismatchError when an op's operands live on different devices."""
    distinct = []
    for device in devices:
        if device not in distinct:
            distinct.append(device)
    if len(distinct) > 1:
        names = " and ".join(str(d) for d in distinct)
        raise DeviceMismatchError(
            f"{op}: operands live on different devices ({names}); all inputs of an operation "
            f"must be on one device. Move one with copyto() or as_in_context()."
        )
