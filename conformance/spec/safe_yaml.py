"""Safe YAML reading for spec files: plain data only, no duplicate keys, no alias bombs.

Rule: nothing in a spec is ever constructed beyond YAML's plain types. Text is parsed by
a SafeLoader that refuses duplicate keys, more than MAX_ALIASES aliases and documents that
aliases would expand beyond MAX_EXPANDED_NODES nodes; libyaml parses text that cannot hold
an alias (no `&`), which is about 8x faster.
"""

from __future__ import annotations

import yaml

MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000  # what aliases may expand a document to (a few aliases can make billions)


class _NoDuplicateKeys:
    """Constructor half shared by both loaders: a mapping may not repeat a key."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"unhashable mapping key {key!r}", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)



class _SafeSpecLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and more than MAX_ALIASES aliases."""

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.constructor.ConstructorError(
                    None, None, f"more than {MAX_ALIASES} YAML aliases (alias bomb?)", event.start_mark
                )
        return super().compose_node(parent, index)

    def compose_document(self):
        node = super().compose_document()
        distinct, expanded = _node_counts(node)
        if expanded > max(distinct, MAX_EXPANDED_NODES):
            raise yaml.constructor.ConstructorError(
                None, None, f"aliases expand the document to {expanded} nodes; the limit is "
                f"{MAX_EXPANDED_NODES} (alias bomb?)", node.start_mark,
            )
        return node


_FastSpecLoader = None
if getattr(yaml, "__with_libyaml__", False):

    class _FastSpecLoader(_NoDuplicateKeys, yaml.CSafeLoader):
        """libyaml's safe parser with the same duplicate-key rule, for text without anchors:
        no `&` means no anchor, so no alias can exist and the alias limits have nothing to count."""


def parse(text: str):
    """The spec text as plain data: libyaml when the text cannot hold an alias, else the
    pure-Python loader that counts aliases (about 8x slower on the kit's specs)."""
    if _FastSpecLoader is not None and "&" not in text:
        return yaml.load(text, Loader=_FastSpecLoader)
    return yaml.load(text, Loader=_SafeSpecLoader)


def _node_counts(root) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded) of a composed YAML graph."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        children = _children(node)
        if finished:
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            on_path.discard(id(node))
            continue
        if id(node) in sizes:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise yaml.constructor.ConstructorError(
                    None, None, "an alias refers to a node that contains it (recursive YAML)", child.start_mark
                )
            if id(child) not in sizes:
                stack.append((child, False))
    return len(sizes), sizes[id(root)]


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
