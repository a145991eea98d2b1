"""A griffe extension for the API reference (mkdocs.yml): give each ``attrs`` class the
``__init__`` that attrs generates at import time, which static analysis cannot see, so that
``merge_init_into_class`` shows its parameters (``TrialInfo(config, instance, seed, ...)``) in
the class's signature like every other class's."""

from __future__ import annotations

import inspect
from typing import Any

import griffe

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


def _annotation(field: Any) -> str | None:
    """A field's annotation as written in the class body (a string under
    ``from __future__ import annotations``)."""
    kind = field.type
    if kind is None:
        return None
    return kind if isinstance(kind, str) else inspect.formatannotation(kind)


def _default(field: Any) -> str | None:
    """A field's default as the user would write it (``dict()`` for ``Factory(dict)``)."""
    import attrs

    default = field.default
    if default is attrs.NOTHING:
        return None
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return f"{getattr(default.factory, '__name__', 'factory')}()"
    return repr(default)


class AttrsInit(griffe.Extension):
    """Adds the generated ``__init__`` to classes decorated with attrs."""

    def on_class_members(self, *, node: Any, cls: griffe.Class, agent: Any,
                         **kwargs: Any) -> None:
        if "__init__" in cls.members:
            return
        try:
            runtime = griffe.dynamic_import(cls.path)
        except ImportError:
            return
        fields = getattr(runtime, "__attrs_attrs__", None)
        if fields is None:
            return
        by_name = {f.alias or f.name: f for f in fields}
        parameters = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)]
        for p in inspect.signature(runtime).parameters.values():
            field = by_name.get(p.name)
            parameters.append(griffe.Parameter(
                p.name, kind=_KINDS[p.kind],
                annotation=_annotation(field) if field is not None else None,
                default=_default(field) if field is not None else None))
        init = griffe.Function("__init__", parameters=griffe.Parameters(*parameters),
                               returns="None", parent=cls)
        cls.set_member("__init__", init)
