"""Rendered map text stays text: it is never parsed as a Jinja template a second time.

branca (the element library under folium) renders each element's ``header``/``html``/``script``
macros and wraps the *rendered* text in ``Element(text)``, whose constructor compiles ``text`` as
a Jinja template; the figure then renders that template. Whatever data reached the first render
(a shelter name inside the GeoJSON, an export title, a marking) so becomes template source in the
second: ``{{ 7*7 }}`` comes out as ``49``, ``{{ lipsum.__globals__['os'].popen('id').read() }}``
runs a command on the server, and ``{{ constructor }}``-style text that is not valid Jinja makes
rendering fail. folium's own ``render`` methods do the same with ``Element(Template(...).render())``.

:func:`install` (run when :mod:`cimic_geo.maps` is imported, so before any map is built or
rendered) makes ``Element(text)`` hold ``text`` verbatim. The templates that are real template
source are the class-level ``_template`` of each element (constant source in the libraries and in
this project, data passed to them only as variables) and the few constant strings of
:data:`TEMPLATE_SOURCES`; nothing else is compiled. (The one folium feature that counts on the
second pass, an element as a GeoJSON style value such as a fill pattern, is not used here.)
"""

from __future__ import annotations

from typing import Any

import branca.element
from jinja2 import Template

#: ``Element(...)`` strings that are template source on purpose (constants inside branca itself).
TEMPLATE_SOURCES = frozenset({
    # branca.element.Div.html: renders the div's children
    "{% for name, element in this._children.items() %}{{element.render(**kwargs)}}{% endfor %}",
})


class VerbatimTemplate:
    """Stands in for a ``jinja2.Template`` and renders to exactly the text it was given."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = str(text)

    def render(self, *_args: Any, **_kwargs: Any) -> str:
        """The text, unchanged (no template syntax is interpreted)."""
        return self.text


def _template_for(text: str | None) -> Template | VerbatimTemplate | None:
    if text is None:
        return None
    return Template(text) if text in TEMPLATE_SOURCES else VerbatimTemplate(text)


_original_init = branca.element.Element.__init__


def _element_init(self: branca.element.Element, template: str | None = None,
                  template_name: str | None = None) -> None:
    _original_init(self, template=None, template_name=template_name)
    self._template_str = template
    if template is not None:
        self._template = _template_for(template)


def _element_setstate(self: branca.element.Element, state: dict) -> None:
    # unpickling (e.g. a cached map) must not compile stored text either
    state = dict(state)
    if state.get("_template_str") is not None:
        state["_template"] = _template_for(state["_template_str"])
    elif state.get("_template_name") is not None:
        state["_template"] = branca.element.ENV.get_template(state["_template_name"])
    self.__dict__.update(state)


def install() -> None:
    """Make ``branca.element.Element(text)`` (also ``folium.Element``) keep ``text`` verbatim. Idempotent."""
    cls = branca.element.Element
    if getattr(cls, "_cimic_verbatim", False):
        return
    cls.__init__ = _element_init  # type: ignore[method-assign]
    cls.__setstate__ = _element_setstate  # type: ignore[method-assign]
    cls._cimic_verbatim = True  # type: ignore[attr-defined]


def installed() -> bool:
    """True when :func:`install` has run in this process."""
    return bool(getattr(branca.element.Element, "_cimic_verbatim", False))
