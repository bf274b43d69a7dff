"""Serve folium's JavaScript and CSS from the app itself instead of CDNs.

The dashboard runs on intranets with no internet access. Folium lists CDN
URLs for Leaflet, jQuery, Bootstrap, Font Awesome, Awesome Markers and the
marker-cluster plugin in the ``default_js`` / ``default_css`` attributes of
the map and of its plugins. ``streamlit_folium.st_folium`` collects exactly
those two attributes from every element of the map and loads them, one by
one, inside the component iframe (it strips the ``<script src>`` and
``<link rel="stylesheet">`` tags from the rendered header, so the attributes
are the only thing that matters). If one script fails to load, the whole map
stays blank.

This module therefore

* copies the few files that are really needed out of the ``XStatic-Leaflet``
  and ``XStatic-Leaflet-MarkerCluster`` wheels into the Streamlit static
  folder (:func:`prepare_static`), and
* rewrites the attributes of a map so that they point at those copies and no
  longer mention anything that is not needed (:func:`localize`).

Only Leaflet and Leaflet.markercluster are needed for what the dashboard
draws: polygons from GeoJSON with ``style_function``, ``GeoJsonTooltip`` and
highlighting, ``CircleMarker`` points, a ``MarkerCluster`` and an HTML legend
made from a ``branca`` ``MacroElement``. jQuery, Bootstrap, Glyphicons,
Font Awesome, Awesome Markers and the rotate stylesheet are dropped; the few
folium features that need them are refused by :func:`localize` (see
:func:`offline_problems`) rather than failing silently in the browser.

The module deliberately does not import streamlit, so it can be used by the
CLI, by tests and by ``Map.save`` as well.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import branca.colormap
import folium
import folium.features
import folium.map
import folium.plugins
import folium.raster_layers
from branca.element import CssLink, Element, Figure, JavascriptLink

__all__ = [
    "VENDOR_SUBDIR",
    "prepare_static",
    "localize",
    "offline_problems",
    "vendor_files",
]

#: Folder below the Streamlit ``static`` directory that receives the copies.
#: Streamlit serves ``<app dir>/static/<path>`` at ``/app/static/<path>``.
VENDOR_SUBDIR = "vendor"

# Resource names used by folium (first item of each default_js/default_css
# pair) mapped to the path of the local copy below the vendor folder. Names,
# not URLs, are the key because folium itself de-duplicates resources by
# name, and the CDN URLs change between folium releases.
_LOCAL_JS: dict[str, str] = {
    "leaflet": "leaflet/leaflet.js",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
}
_LOCAL_CSS: dict[str, str] = {
    "leaflet_css": "leaflet/leaflet.css",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
}

# Resources folium adds to every Map that none of the supported layers use:
# they only serve folium.Icon (Awesome Markers and its icon fonts),
# folium.Popup / keep_in_front / GeoJson(embed=False) (jQuery), and the
# Bootstrap look of notebooks. Dropping beats shipping: Leaflet.awesome-markers
# and folium's leaflet.awesome.rotate.css are on no PyPI package (the latter
# lives only in folium's GitHub repository, not in its wheel), and Font
# Awesome / Glyphicons would in turn pull web fonts.
_DROPPED: frozenset[str] = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)

# Hosts that count as "this server" when deciding whether a URL is external.
_LOCAL_HOSTS: frozenset[str] = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _xstatic_dirs() -> dict[str, Path]:
    """Return the data folders of the XStatic packages, keyed by vendor folder.

    Imported lazily so that merely importing this module (for ``localize``
    in tests, say) does not require the XStatic wheels.
    """
    import xstatic.pkg.leaflet as xs_leaflet
    import xstatic.pkg.leaflet_markercluster as xs_cluster

    return {
        "leaflet": Path(xs_leaflet.BASE_DIR),
        "leaflet.markercluster": Path(xs_cluster.BASE_DIR),
    }


def vendor_files() -> dict[Path, Path]:
    """List the files :func:`prepare_static` copies.

    Returns
    -------
    dict of pathlib.Path to pathlib.Path
        Destination path relative to the vendor folder, mapped to the
        absolute source path inside the installed XStatic package.

    Notes
    -----
    The Leaflet marker and layer-control images are included although the
    supported layers do not draw them: ``leaflet.css`` refers to them with
    relative URLs, they weigh a few kilobytes, and a default ``folium.Marker``
    or a ``LayerControl`` would otherwise show broken images. Source maps are
    left out: browsers only ask for them with the developer tools open.
    """
    dirs = _xstatic_dirs()
    leaflet, cluster = dirs["leaflet"], dirs["leaflet.markercluster"]
    files: dict[Path, Path] = {
        Path("leaflet/leaflet.js"): leaflet / "leaflet.js",
        Path("leaflet/leaflet.css"): leaflet / "leaflet.css",
        Path("leaflet.markercluster/leaflet.markercluster.js"): cluster
        / "leaflet.markercluster.js",
        Path("leaflet.markercluster/MarkerCluster.css"): cluster / "MarkerCluster.css",
        Path("leaflet.markercluster/MarkerCluster.Default.css"): cluster
        / "MarkerCluster.Default.css",
    }
    for image in sorted((leaflet / "images").glob("*.png")):
        files[Path("leaflet/images") / image.name] = image
    return files


def _is_current(src: Path, dst: Path) -> bool:
    """Tell whether ``dst`` is an unchanged copy of ``src``.

    Size plus modification time is enough because the copies are made with
    :func:`shutil.copy2`, which preserves the source's mtime; this keeps the
    check to two ``stat`` calls per file on every Streamlit rerun.
    """
    try:
        s, d = src.stat(), dst.stat()
    except FileNotFoundError:
        return False
    return s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime)


def prepare_static(static_dir: Path) -> None:
    """Copy Leaflet and Leaflet.markercluster into the Streamlit static folder.

    Parameters
    ----------
    static_dir : pathlib.Path
        The ``static`` folder next to the Streamlit main script. Files land in
        ``static_dir / "vendor"`` (see :func:`vendor_files` for the list) and
        are then served at ``/app/static/vendor/...`` when
        ``server.enableStaticServing`` is true. The folder is created if
        missing.

    Returns
    -------
    None

    Notes
    -----
    Idempotent and cheap: files already copied (same size and mtime) are
    skipped, so it can be called on every rerun. Each file is written to a
    temporary name and renamed into place, so a browser never receives a
    half-written script while another session is copying.

    Files are copied rather than symlinked on purpose: Streamlit resolves
    symlinks and answers 404 for any file whose real path lies outside the
    static folder.
    """
    vendor_dir = Path(static_dir) / VENDOR_SUBDIR
    for rel, src in vendor_files().items():
        dst = vendor_dir / rel
        if _is_current(src, dst):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
        os.close(fd)
        try:
            shutil.copy2(src, tmp_name)
            os.replace(tmp_name, dst)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def _is_external(url: str) -> bool:
    """Tell whether ``url`` would make the browser contact another host.

    Relative and root-relative URLs stay on the Streamlit server. Absolute
    and protocol-relative (``//host/...``) URLs are external unless they name
    localhost.
    """
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return False
    if parts.scheme in ("data", "blob"):
        return False
    return (parts.hostname or "") not in _LOCAL_HOSTS


def _walk(element: Element) -> Iterator[Element]:
    """Yield ``element`` and all its descendants, depth first.

    This is the same traversal ``st_folium`` uses to collect the links.
    """
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def offline_problems(m: folium.Map) -> list[str]:
    """List the elements of a map that cannot work without the internet.

    Parameters
    ----------
    m : folium.Map
        The map to inspect.

    Returns
    -------
    list of str
        One human-readable line per offending element; empty when the map
        only uses Leaflet and Leaflet.markercluster.

    Notes
    -----
    These elements generate JavaScript that calls a library
    :func:`localize` drops (``$`` from jQuery, ``L.AwesomeMarkers``), or make
    ``st_folium`` add CDN URLs itself (it hard-codes two d3 URLs for every
    ``branca`` colormap). A single failing call stops the map script, so the
    whole map would stay blank. Tile layers on another host are listed too:
    the default ``folium.Map(tiles="OpenStreetMap")`` would otherwise send a
    request per tile to openstreetmap.org. One non-network trap is listed as
    well because it only shows up on offline (tile-less) maps: a
    ``MarkerCluster`` needs ``maxZoom`` in the map options.
    """
    problems: list[str] = []
    if getattr(m, "objects_to_stay_in_front", None):
        problems.append("Map.keep_in_front(): uses jQuery $(document).ready")
    elements = list(_walk(m))
    has_tiles = any(
        isinstance(el, folium.raster_layers.TileLayer) for el in elements
    )
    has_cluster = any(isinstance(el, folium.plugins.MarkerCluster) for el in elements)
    if has_cluster and not has_tiles and not (
        {"maxZoom", "max_zoom"} & set(getattr(m, "options", {}))
    ):
        # Offline maps usually have tiles=None. Leaflet then has no maximum
        # zoom (tile layers normally supply it) and L.markerClusterGroup
        # throws "Map has no maxZoom specified", which aborts the map script.
        # Map(max_zoom=...) does not help: folium only passes it to the tile
        # layer it creates.
        problems.append(
            "MarkerCluster on a map without tile layers needs "
            "folium.Map(..., maxZoom=18)"
        )
    for el in elements:
        name = el.get_name() if hasattr(el, "get_name") else type(el).__name__
        if isinstance(el, folium.map.Popup):
            problems.append(
                f"{name}: folium.Popup builds its content with jQuery $(...); "
                "use a tooltip or folium.GeoJsonPopup instead"
            )
        elif isinstance(el, folium.map.Icon) and not isinstance(
            el, folium.features.CustomIcon
        ):
            problems.append(
                f"{name}: folium.Icon needs Awesome Markers and Font Awesome; "
                "use CircleMarker, DivIcon or CustomIcon instead"
            )
        elif isinstance(el, folium.GeoJson) and not getattr(el, "embed", True):
            problems.append(f"{name}: GeoJson(embed=False) loads data with $.ajax")
        elif isinstance(
            el, (folium.raster_layers.TileLayer, folium.raster_layers.WmsTileLayer)
        ):
            # Tiles are fetched by Leaflet at run time, not listed in
            # default_js, so only an explicit check catches them.
            url = str(getattr(el, "tiles", None) or getattr(el, "url", ""))
            if _is_external(url):
                problems.append(
                    f"{name}: tiles from {url}; use tiles=None or a local "
                    "tile server"
                )
        elif isinstance(el, branca.colormap.ColorMap):
            problems.append(
                f"{name}: st_folium loads d3 from a CDN for every branca "
                "colormap; put colormap._repr_html_() in an HTML legend instead"
            )
    return problems


def _rewrite(
    links: list[tuple[str, str]], local: dict[str, str], base_url: str
) -> list[tuple[str, str]]:
    """Map one ``default_js`` / ``default_css`` list to its offline version.

    Raises
    ------
    ValueError
        If an external resource is neither known nor droppable: it would be
        requested from the internet, and there is no local copy to use.
    """
    result: list[tuple[str, str]] = []
    for name, url in links:
        if name in local:
            result.append((name, f"{base_url}/{local[name]}"))
        elif name in _DROPPED:
            continue
        elif _is_external(url):
            raise ValueError(
                f"no local copy of {name!r} ({url}); add it to geo/offline.py "
                "or do not use the element that needs it"
            )
        else:
            # Already local (e.g. set by the caller): keep as is.
            result.append((name, url))
    return result


def localize(m: folium.Map, base_url: str = "/app/static/vendor") -> folium.Map:
    """Point a map and all its children at local copies of their assets.

    Parameters
    ----------
    m : folium.Map
        The map to rewrite, in place. Call this after every layer and plugin
        has been added, since it only sees the elements present now.
    base_url : str, default "/app/static/vendor"
        URL of the vendor folder filled by :func:`prepare_static`, as seen
        from the page that loads the map. The default suits Streamlit served
        at the root of its host. Under ``server.baseUrlPath`` either add that
        prefix or pass ``"../../app/static/vendor"``: ``st_folium`` loads the
        files from its iframe, whose page is
        ``<prefix>/component/streamlit_folium.st_folium/index.html``, so that
        relative URL works with any prefix (but not for ``Map.save``, whose
        HTML lives elsewhere).

    Returns
    -------
    folium.Map
        ``m`` itself, so the call can be chained.

    Raises
    ------
    ValueError
        If the map contains an element that needs a dropped library or
        external tiles (see :func:`offline_problems`), or lists an external
        asset this module has no copy of; such a map would render blank, or
        not at all, without the internet.

    Notes
    -----
    Lists are replaced on the instances, never mutated: folium keeps
    ``default_js`` / ``default_css`` as class attributes shared by every
    map, and its own ``add_js_link`` edits them in place.

    Links left in the figure header by an earlier render are removed too, so
    ``m.save()`` and notebooks are offline as well. ``st_folium`` ignores
    that header and reads only the attributes.
    """
    problems = offline_problems(m)
    if problems:
        raise ValueError("map cannot render offline:\n  " + "\n  ".join(problems))

    base_url = base_url.rstrip("/")
    for el in _walk(m):
        js = getattr(el, "default_js", None)
        css = getattr(el, "default_css", None)
        if js:
            el.default_js = _rewrite(list(js), _LOCAL_JS, base_url)
        if css:
            el.default_css = _rewrite(list(css), _LOCAL_CSS, base_url)

    root = m.get_root()
    if isinstance(root, Figure):
        header = root.header._children
        for key, child in list(header.items()):
            if isinstance(child, (JavascriptLink, CssLink)) and _is_external(
                child.url
            ):
                del header[key]
    return m
