"""Offline front-end assets for the maps: nothing is loaded from a CDN.

folium and its plugins load Leaflet, jQuery, Bootstrap, Font Awesome, ... from public CDNs; an
air-gapped browser would render nothing. This module:

* lists the files the maps use (:data:`ASSETS`), taken from npm packages pinned exactly in
  ``package.json`` / ``package-lock.json`` (installed with ``npm ci``, never committed);
* copies them from ``node_modules/`` to the app's static folder (:func:`install`;
  ``python -m cimic_geo.maps.assets install``), which Streamlit serves at ``/app/static/`` when
  ``[server] enableStaticServing = true`` (``.streamlit/config.toml``);
* points ``default_js`` / ``default_css`` of :class:`folium.Map` and of every plugin the project
  uses at those files (:func:`asset_links`, :func:`set_offline_assets`,
  :func:`patch_folium_defaults`), either as served URLs (``asset_mode="served"``) or inlined as
  ``data:`` URIs for a standalone HTML file (``asset_mode="inline"``);
* detects missing files and raises :class:`~cimic_geo.errors.AssetError` with the install
  commands (:func:`check_assets`).

Only Leaflet itself is loaded when a map opens (milsymbol when its APP-6 switch is first checked):
jQuery, Bootstrap, Font Awesome and awesome-markers (folium's defaults) are not used by any element the
project draws.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import folium
import folium.plugins

from cimic_geo.config import PROJECT_ROOT, load_settings
from cimic_geo.errors import AssetError

AssetMode = Literal["served", "inline"]

#: URL path under which Streamlit serves ``<project>/static/vendor`` (static serving).
SERVED_BASE_URL = "/app/static/vendor"

#: What to run when assets are missing (the Makefile's ``assets`` target runs the same).
INSTALL_HINT = (
    "run `make assets` (that is: `npm ci --no-audit --no-fund && "
    ".venv/bin/python -m cimic_geo.maps.assets install` in the project folder)"
)


@dataclass(frozen=True)
class Asset:
    """Files of one npm package that the maps load.

    Parameters
    ----------
    package : npm package name (pinned in package.json)
    js : JavaScript files, relative to the package folder, loaded in this order
    css : stylesheets, relative to the package folder
    images : images referenced by the stylesheets (relative ``url(images/...)``)
    names : folium link names for ``js`` and ``css`` (same order), used as header keys
    """

    package: str
    js: tuple[str, ...]
    css: tuple[str, ...]
    images: tuple[str, ...] = ()
    js_names: tuple[str, ...] = ()
    css_names: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return self.js + self.css + self.images


_LEAFLET_IMAGES = tuple(
    f"dist/images/{n}"
    for n in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")
)

#: Every front-end file the project's maps use, by npm package.
ASSETS: dict[str, Asset] = {
    "leaflet": Asset(
        "leaflet",
        js=("dist/leaflet.js",),
        css=("dist/leaflet.css",),
        images=_LEAFLET_IMAGES,
        js_names=("leaflet",),
        css_names=("leaflet_css",),
    ),
    "leaflet.markercluster": Asset(
        "leaflet.markercluster",
        js=("dist/leaflet.markercluster.js",),
        css=("dist/MarkerCluster.css", "dist/MarkerCluster.Default.css"),
        js_names=("markerclusterjs",),
        css_names=("markerclustercss", "markerclusterdefaultcss"),
    ),
    "leaflet-draw": Asset(
        "leaflet-draw",
        js=("dist/leaflet.draw.js",),
        css=("dist/leaflet.draw.css",),
        images=tuple(
            f"dist/images/{n}"
            for n in ("spritesheet.png", "spritesheet-2x.png", "spritesheet.svg")
        ),
        js_names=("leaflet_draw_js",),
        css_names=("leaflet_draw_css",),
    ),
    # APP-6 / MIL-STD-2525 symbols drawn in the browser (the COP's symbol switch)
    "milsymbol": Asset("milsymbol", js=("dist/milsymbol.js",), css=(), js_names=("milsymbol",)),
}

#: The project's own map scripts (in ``cimic_geo/maps/js``): copied by :func:`install` next to the npm
#: files (folder :data:`PROJECT_FOLDER`), served from there, or inlined like them.
PROJECT_JS_DIR = Path(__file__).resolve().parent / "js"
PROJECT_SCRIPTS = ("cop-layers.js", "cop-controls.js")
PROJECT_FOLDER = "cimic"

#: folium classes whose CDN defaults are replaced, and the packages each one needs.
FOLIUM_CLASSES: dict[str, tuple[str, ...]] = {
    "Map": ("leaflet",),
    "MarkerCluster": ("leaflet.markercluster",),
    "FastMarkerCluster": ("leaflet.markercluster",),
    "Draw": ("leaflet-draw",),
}


def _folium_class(name: str) -> type:
    return getattr(folium, name, None) or getattr(folium.plugins, name)


def asset_dir() -> Path:
    """Folder the assets are copied to and served from (setting ``asset_dir``, default ``static/vendor``)."""
    return load_settings().asset_dir


def node_modules_dir() -> Path:
    return PROJECT_ROOT / "node_modules"


def pinned_versions(lockfile: Path | None = None) -> dict[str, str]:
    """Exact versions of the asset packages from ``package-lock.json``."""
    path = lockfile or PROJECT_ROOT / "package-lock.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AssetError(f"cannot read {path}: {exc}; the project's package-lock.json is needed") from exc
    packages = data.get("packages", {})
    out = {}
    for name in ASSETS:
        entry = packages.get(f"node_modules/{name}")
        if not entry or "version" not in entry:
            raise AssetError(f"{path} does not pin '{name}'; run `npm install --save-exact {name}@<version>`")
        out[name] = str(entry["version"])
    return out


# ----------------------------------------------------------------------------------------------
# Install and check
# ----------------------------------------------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    return b.exists() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def install(*, source: Path | None = None, dest: Path | None = None) -> list[Path]:
    """Copy the asset files from ``node_modules/`` to the static folder; return the files written.

    Idempotent: files already identical are left alone. Checks that each installed npm package
    has the version pinned in ``package-lock.json`` (so a stale ``node_modules`` is caught).

    Raises
    ------
    AssetError
        If ``node_modules`` lacks a package or file, or holds another version than the lock.
    """
    src_root = source or node_modules_dir()
    dst_root = dest or asset_dir()
    versions = pinned_versions()
    written: list[Path] = []
    for name, asset in ASSETS.items():
        pkg_dir = src_root / name
        try:
            installed = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))["version"]
        except (OSError, KeyError, json.JSONDecodeError):
            raise AssetError(f"npm package '{name}' is not installed in {src_root}; {INSTALL_HINT}") from None
        if installed != versions[name]:
            raise AssetError(
                f"node_modules has {name} {installed} but package-lock.json pins {versions[name]}; {INSTALL_HINT}"
            )
        for rel in asset.files:
            src = pkg_dir / rel
            if not src.exists():
                raise AssetError(f"{src} is missing from the npm package {name}@{installed}")
            dst = dst_root / name / _dest_rel(rel)
            if _same_file(src, dst):
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            written.append(dst)
    for script in PROJECT_SCRIPTS:
        src, dst = PROJECT_JS_DIR / script, dst_root / PROJECT_FOLDER / script
        if not _same_file(src, dst):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            written.append(dst)
    (dst_root / "VERSIONS.json").write_text(json.dumps(versions, indent=1, sort_keys=True) + "\n")
    _read_asset.cache_clear()
    return written


def _dest_rel(rel: str) -> str:
    # "dist/leaflet.js" -> "leaflet.js"; "dist/images/x.png" -> "images/x.png"
    return rel.split("/", 1)[1] if rel.startswith("dist/") else rel


def missing_assets(dest: Path | None = None) -> list[Path]:
    """Asset files that are not in the static folder, or (the project's scripts) differ from the
    package's copy (empty when all are there and current)."""
    root = dest or asset_dir()
    missing = [root / name / _dest_rel(rel) for name, asset in ASSETS.items() for rel in asset.files
               if not (root / name / _dest_rel(rel)).is_file()]
    return missing + [root / PROJECT_FOLDER / s for s in PROJECT_SCRIPTS
                      if not _same_file(PROJECT_JS_DIR / s, root / PROJECT_FOLDER / s)]


def check_assets(dest: Path | None = None) -> None:
    """Raise :class:`AssetError` naming the missing files and how to install them."""
    missing = missing_assets(dest)
    if missing:
        shown = ", ".join(str(p) for p in missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise AssetError(f"offline map assets are missing ({shown}); {INSTALL_HINT}")


# ----------------------------------------------------------------------------------------------
# Links for folium
# ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _read_asset(path: str) -> bytes:
    return Path(path).read_bytes()


_CSS_URL_RE = re.compile(r"url\(\s*['\"]?(images/[^'\")]+)['\"]?\s*\)")


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(_read_asset(str(path))).decode("ascii")


def _inline_css(path: Path) -> str:
    css = _read_asset(str(path)).decode("utf-8")

    def repl(m: re.Match) -> str:
        img = path.parent / m.group(1)
        mime = "image/svg+xml" if img.suffix == ".svg" else "image/png"
        return f"url('{_data_uri(img, mime)}')" if img.is_file() else m.group(0)

    css = _CSS_URL_RE.sub(repl, css)
    return "data:text/css;base64," + base64.b64encode(css.encode("utf-8")).decode("ascii")


def asset_links(
    package: str, *, asset_mode: AssetMode = "served", base_url: str = SERVED_BASE_URL, dest: Path | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(default_js, default_css)`` lists for one npm package of :data:`ASSETS`.

    ``served``: URLs under ``base_url`` (a cache-busting ``?v=<version>`` is not needed: the path
    is stable and files change only with package-lock.json). ``inline``: ``data:`` URIs with the
    stylesheets' images embedded, for a standalone HTML file (raises :class:`AssetError` when the
    files are missing).
    """
    asset = ASSETS[package]
    root = dest or asset_dir()
    if asset_mode == "served":
        base = base_url.rstrip("/")
        js = [(n, f"{base}/{package}/{_dest_rel(r)}") for n, r in zip(asset.js_names, asset.js, strict=True)]
        css = [(n, f"{base}/{package}/{_dest_rel(r)}") for n, r in zip(asset.css_names, asset.css, strict=True)]
        return js, css
    if asset_mode != "inline":
        raise AssetError(f"asset_mode must be 'served' or 'inline', got {asset_mode!r}")
    check_assets(root)
    js = [(n, _data_uri(root / package / _dest_rel(r), "text/javascript")) for n, r in zip(asset.js_names, asset.js, strict=True)]
    css = [(n, _inline_css(root / package / _dest_rel(r))) for n, r in zip(asset.css_names, asset.css, strict=True)]
    return js, css


def project_script_links(
    *, asset_mode: AssetMode = "served", base_url: str = SERVED_BASE_URL
) -> list[tuple[str, str]]:
    """``default_js`` entries for the project's own map scripts (:data:`PROJECT_SCRIPTS`).

    ``served``: URLs under ``base_url`` with ``?v=<content hash>`` (the files change with the code,
    so a browser must not keep an old copy). ``inline``: ``data:`` URIs read from the package.
    """
    out = []
    for script in PROJECT_SCRIPTS:
        path = PROJECT_JS_DIR / script
        name = "cimic_" + script.removesuffix(".js").replace("-", "_")
        if asset_mode == "inline":
            out.append((name, _data_uri(path, "text/javascript")))
        else:
            digest = hashlib.sha1(_read_asset(str(path))).hexdigest()[:10]
            out.append((name, f"{base_url.rstrip('/')}/{PROJECT_FOLDER}/{script}?v={digest}"))
    return out


def links_for_class(
    class_name: str, *, asset_mode: AssetMode = "served", base_url: str = SERVED_BASE_URL
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(default_js, default_css)`` for a folium class of :data:`FOLIUM_CLASSES`."""
    js: list[tuple[str, str]] = []
    css: list[tuple[str, str]] = []
    for package in FOLIUM_CLASSES[class_name]:
        j, c = asset_links(package, asset_mode=asset_mode, base_url=base_url)
        js += j
        css += c
    return js, css


def set_offline_assets(
    element: folium.Element, *, asset_mode: AssetMode = "served", base_url: str = SERVED_BASE_URL
) -> folium.Element:
    """Give one folium Map/plugin instance offline ``default_js``/``default_css`` (instance lists)."""
    name = type(element).__name__
    if name not in FOLIUM_CLASSES:
        raise AssetError(f"no offline assets registered for folium class {name}; add it to FOLIUM_CLASSES")
    js, css = links_for_class(name, asset_mode=asset_mode, base_url=base_url)
    element.default_js = js
    element.default_css = css
    return element


def _served_links(element: folium.Element) -> tuple[list[str], list[str]]:
    """Served script and stylesheet URLs of ``element`` and its children, in streamlit-folium's order."""
    js: list[str] = []
    css: list[str] = []
    todo = [element]
    while todo:
        elem = todo.pop()
        js += [u for _, u in getattr(elem, "default_js", []) if not u.startswith("data:")]
        css += [u for _, u in getattr(elem, "default_css", []) if not u.startswith("data:")]
        todo.extend(reversed(list(getattr(elem, "_children", {}).values())))
    return list(dict.fromkeys(js)), list(dict.fromkeys(css))


#: A script that asks the browser for every file of ``LINKS`` at once (``<link rel="preload">``).
_PRELOAD_JS = ("(function (d) {{ {links}.forEach(function (a) {{ var l = d.createElement('link'); "
               "l.rel = 'preload'; l.as = a[0]; l.href = a[1]; d.head.appendChild(l); }}); }})(document);")


def preload_first(m: folium.Map) -> folium.Map:
    """Make the map's first script a ``data:`` URI (nothing to fetch) asking for all its other files at once.

    streamlit-folium requests a map's scripts one after another, each once the one before has run; preloaded,
    they arrive together and each then runs from the browser's memory. Call it once the map holds every
    element with scripts (after its Draw control); served maps only."""
    js, css = _served_links(m)
    links = [["script", u] for u in js] + [["style", u] for u in css]
    code = _PRELOAD_JS.format(links=json.dumps(links))
    uri = "data:text/javascript;base64," + base64.b64encode(code.encode("utf-8")).decode("ascii")
    m.default_js = [("cimic_preload", uri), *[(n, u) for n, u in m.default_js if n != "cimic_preload"]]
    return m


def patch_folium_defaults(*, base_url: str = SERVED_BASE_URL) -> None:
    """Replace the CDN ``default_js``/``default_css`` of folium's Map and every plugin we use.

    Class-level patch (served URLs) so that code building plain folium objects (e.g. the corridor
    planner's ``Draw``) is offline too. Idempotent.
    """
    for name in FOLIUM_CLASSES:
        cls = _folium_class(name)
        js, css = links_for_class(name, asset_mode="served", base_url=base_url)
        cls.default_js = js
        cls.default_css = css


_REMOTE_RE = re.compile(r"""(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", re.IGNORECASE)


def remote_urls(html: str) -> list[str]:
    """``src``/``href`` URLs in ``html`` that point off the local server (should be empty)."""
    return [u for u in _REMOTE_RE.findall(html) if not re.match(r"(?:https?:)?//(localhost|127\.0\.0\.1)[:/]", u)]


def asset_fingerprint(dest: Path | None = None) -> str:
    """Short hash of the installed asset versions (for cache keys); ``missing`` when not installed."""
    path = (dest or asset_dir()) / "VERSIONS.json"
    if not path.exists():
        return "missing"
    return hashlib.sha1(path.read_bytes()).hexdigest()[:10]


# Every importer of this module (all map builders) gets offline folium defaults.
patch_folium_defaults()


# ----------------------------------------------------------------------------------------------
# Command line: python -m cimic_geo.maps.assets install|check|symbols
# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cimic_geo.maps.assets", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("install", "check", "symbols"))
    args = parser.parse_args(argv)
    try:
        if args.action == "symbols":
            from cimic_geo.maps.symbols import SYMBOL_FILE, render_symbols

            print(f"APP-6 symbols: {render_symbols()} rendered into {SYMBOL_FILE}")
            return 0
        if args.action == "install":
            written = install()
            print(f"offline map assets: {len(written)} file(s) updated in {asset_dir()}")
        check_assets()
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"offline map assets present in {asset_dir()}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
