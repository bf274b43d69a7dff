"""Folium maps: township choropleths with class breaks, legend, notes and points. No tiles.

Text shown on the map (labels, legend title, notes, tooltips) is passed in by the caller, so
this module holds no interface language.
"""
import threading
from dataclasses import dataclass, field

import folium
import folium.plugins
from folium.utilities import JsCode
import numpy as np
import shapely.geometry
from branca.element import Element, MacroElement, Template

from geo import classify, shapes
from i18n import safe

# ColorBrewer sequential palettes (5 classes); reds for risk, blues/greens for coverage work.
PALETTES = {
    "Blues": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    "Greens": ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],
    "Reds": ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"],
    "Purples": ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
}
MISSING_COLOUR = "#d9d9d9"
# a value hidden to protect small counts (indicators/suppress.py): a neutral of its own, no band
SMALL_COLOUR = "#e8dcc2"
# Screening pace (queries/pacing.py status), on the maps and in every export.
STATUS_COLOURS = {"green": "#31a354", "amber": "#fdae30", "red": "#de2d26"}
STATUS_MARKS = {"green": "绿", "amber": "黄", "red": "红"}  # words, not emoji: intranet PCs lack emoji fonts
# Mediation rooms by type, on the maps and in every export.
ROOM_COLOURS = {
    "家事调解工作室": "#e6550d",
    "婚调坊": "#3182bd",
    "和合之家": "#31a354",
    "家事纠纷调解工作站": "#756bb1",
    "妇女议事会": "#f1c40f",
    "婚姻家庭纠纷调解委员会": "#636363",
}
BACKGROUND = "#f3f1ec"


def class_breaks(values, k: int = 5) -> list[float]:
    """Upper bounds of up to ``k`` quantile classes of the non-missing ``values``.

    Fewer classes when there are fewer distinct values; [] when nothing is known.
    Other schemes and locked scales: geo.classify.
    """
    return list(classify.classify(values, "quantiles", k).breaks)


def class_of(value, breaks: list[float]) -> int | None:
    """Index of the class holding ``value`` (upper bounds inclusive), None when missing."""
    return classify.class_index(value, breaks)


def palette_for(name: str, n: int) -> list[str]:
    """``n`` colours spread over a 5-colour palette, light to dark."""
    colours = PALETTES[name]
    if n <= 0:
        return []
    idx = np.linspace(0, len(colours) - 1, n).round().astype(int) if n > 1 else [len(colours) - 1]
    return [colours[i] for i in idx]


@dataclass
class Legend:
    title: str
    rows: list[tuple[str, str]]  # (colour, label)
    notes: list[str] = field(default_factory=list)  # shown under the legend (示意边界, 数据截至)
    outlines: list[tuple[str, str]] = field(default_factory=list)  # (outline colour, label): hot/cold spots


# A <details> element: open on a wide frame, folded to its title on a narrow one (the fit script
# below decides, from the frame's width), so that on a phone it never covers the region.
_LEGEND_TEMPLATE = """
{% macro html(this, kwargs) %}
<details class="atlas-legend" open>
  <summary class="atlas-legend-title">{{ this.title|e }}</summary>
  {% for colour, label in this.rows %}
  <div><span class="atlas-swatch" style="background:{{ colour|e }};"></span>{{ label|e }}</div>
  {% endfor %}
  {% for colour, label in this.outlines %}
  <div><span class="atlas-swatch atlas-outline" style="border-color:{{ colour|e }};"></span>{{ label|e }}</div>
  {% endfor %}
  {% for note in this.notes %}
  <div class="atlas-note">{{ note|e }}</div>
  {% endfor %}
</details>
{% endmacro %}
"""
LEGEND_CSS = """<style>
.atlas-legend { position: absolute; z-index: 9999; top: 10px; right: 10px; box-sizing: border-box;
  background: rgba(255,255,255,0.94); padding: 6px 10px; border: 1px solid #bbb; border-radius: 4px;
  font: 12px/1.5 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif; color: #222;
  max-width: min(240px, 45%); max-height: calc(100% - 40px); overflow-y: auto; }
.atlas-legend-title { font-weight: 600; cursor: pointer; }
.atlas-legend[open] .atlas-legend-title { margin-bottom: 4px; }
.atlas-swatch { display: inline-block; width: 14px; height: 12px; margin-right: 6px; vertical-align: middle;
  border: 1px solid #888; }
.atlas-swatch.atlas-outline { background: transparent; border-width: 3px; border-style: solid;
  width: 10px; height: 8px; }
.atlas-note { margin-top: 4px; color: #555; }
.atlas-mark { font: 600 12px/1 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif; white-space: nowrap; width: max-content;
  text-align: center; pointer-events: none;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; transform: translate(-50%, -50%); }
@media (max-width: 439px) { .atlas-legend { max-width: calc(100% - 20px); } }
</style>"""
# Below this frame width (CSS px: a phone held upright) the legend is folded and the fit keeps no
# strip for it; wider frames decide by how much room the open legend would cost (_FitToFrame).
NARROW_PX = 440


class _MetricScale(MacroElement):
    """Leaflet's scale bar in kilometres only (folium's control_scale adds miles too)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false, position: "bottomleft"}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")


class _PlainAttribution(MacroElement):
    """Leaflet's attribution prefix as plain text: Leaflet 1.9 prefixes a flag and a link to
    leafletjs.com, which a leader's slide should not carry."""

    _template = Template("""
{% macro script(this, kwargs) %}
if ({{ this._parent.get_name() }}.attributionControl) {
    {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
}
{% endmacro %}
""")


class _LegendElement(MacroElement):
    def __init__(self, legend: Legend):
        super().__init__()
        self._name = "AtlasLegend"
        self.title = legend.title
        self.rows = legend.rows
        self.notes = legend.notes
        self.outlines = legend.outlines
        self._template = Template(_LEGEND_TEMPLATE)


class _FitToFrame(MacroElement):
    """Fit the region to the frame the map is drawn in, on load and whenever the frame's size
    changes, with padding measured in the browser. On a narrow frame (a phone, NARROW_PX) the
    legend is folded to its title and only a strip above is kept for that title. On a wide one
    the open legend gets a strip on the right or along the top, whichever leaves the region
    larger, so it never covers a township; where either strip would shrink the region by more
    than half a zoom level (a map beside the township panel) the legend is folded too. Once
    someone opens or folds the legend by hand, it stays as they left it."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }};
    var bounds = L.latLngBounds({{ this.bounds|tojson }});
    var legend = document.querySelector(".atlas-legend");
    var narrowPx = {{ this.narrow }}, last = "", byHand = false, shown = legend ? legend.open : false;
    function zoomFor(pad) {
        return map.getBoundsZoom(bounds, false, L.point(pad[0]).add(L.point(pad[1])));
    }
    function folded() { return [[8, legend.offsetHeight + 16], [8, 8]]; }
    function beside() {  // the open legend's strip, right or top, whichever leaves the region larger
        var right = [[8, 8], [legend.offsetWidth + 18, 8]];
        var top = [[8, legend.offsetHeight + 16], [8, 8]];
        return zoomFor(right) >= zoomFor(top) ? right : top;
    }
    function decide(narrow) {  // open or fold the legend, unless someone already did by hand
        if (!legend || byHand) { return; }
        if (narrow) {
            legend.open = false;
        } else {
            legend.open = true;
            var open = zoomFor(beside());
            legend.open = false;
            legend.open = open >= zoomFor(folded()) - 0.5;
        }
        shown = legend.open;
    }
    function padding(narrow) {  // and a strip along the bottom for the playback bar, if any
        var bar = document.querySelector(".atlas-playback");
        var pad = !legend ? [[8, 8], [8, 8]] : !legend.open ? folded()
            : narrow ? [[8, 8], [8, 8]] : beside();  // opened by hand on a phone: it lies over the map
        return bar ? [pad[0], [pad[1][0], Math.max(pad[1][1], bar.offsetHeight + 16)]] : pad;
    }
    function fit(force) {
        var size = map.getSize();
        var key = [size.x, size.y, legend ? legend.open : 0, legend ? legend.offsetWidth : 0,
                   legend ? legend.offsetHeight : 0].join(" ");
        if (!size.x || !size.y || (!force && key === last)) { return; }
        last = key;
        var narrow = size.x < narrowPx;
        if (!force) { decide(narrow); }
        var pad = padding(narrow);
        map.fitBounds(bounds, {paddingTopLeft: pad[0], paddingBottomRight: pad[1], animate: false});
    }
    map.whenReady(function() {  // once the legend's text is laid out, so that it measures true
        requestAnimationFrame(function() { requestAnimationFrame(function() { fit(false); }); });
    });
    map.on("resize", function() { fit(false); });
    if (legend) {
        legend.addEventListener("toggle", function() {
            if (legend.open === shown) { return; }  // the fit's own doing
            byHand = true;
            shown = legend.open;
            if (map.getSize().x >= narrowPx) { fit(true); }  // on a wide frame: make room, or use it
        });
    }
    if (window.ResizeObserver) {  // the frame, or the legend once its text is laid out
        var watch = new ResizeObserver(function() { map.invalidateSize(); fit(false); });
        watch.observe(map.getContainer());
        if (legend) { watch.observe(legend); }
    }
})();
{% endmacro %}
""")

    def __init__(self, bounds):
        super().__init__()
        self._name = "FitToFrame"
        self.bounds = [[float(v) for v in corner] for corner in bounds]
        self.narrow = NARROW_PX


# Place names: small dark text with a white halo, in a pane of their own above the shapes that
# lets every pointer event through to them (hover, click, drill and panel work as without names).
NAMES_CSS = """<style>
.leaflet-atlasNames-pane { pointer-events: none !important; }
.atlas-name { pointer-events: none !important; }
.atlas-name-text { position: absolute; left: 0; top: 0; transform: translate(-50%, -50%); white-space: nowrap;
  font: 600 12px/1.2 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif; color: #1f1f1f;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff,
               0 -1px 0 #fff, 0 1px 0 #fff, -1px 0 0 #fff, 1px 0 0 #fff, 0 0 3px #fff;
  pointer-events: none; user-select: none; }
.atlas-name-text.atlas-name-off { visibility: hidden; }
.atlas-names-toggle { background: rgba(255,255,255,0.94); padding: 2px 8px; border-radius: 4px;
  border: 2px solid rgba(0,0,0,0.2); font: 12px/1.6 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;
  color: #222; cursor: pointer; user-select: none; }
.atlas-names-toggle input { margin: 0 4px 0 0; vertical-align: middle; }
</style>"""


_COMPACT = threading.Lock()


class _Compact:
    """Mixin for an element that writes big data into the page: its JSON is written compact
    (Jinja's ``tojson`` puts a space after every comma and colon, a tenth of a big map's bytes).
    Still Jinja's HTML-safe JSON (a name cannot close the script); only the separators change,
    and only while this element is rendered."""

    def render(self, **kwargs):
        policies = self._template.environment.policies
        with _COMPACT:
            saved = dict(policies.get("json.dumps_kwargs") or {})
            policies["json.dumps_kwargs"] = {**saved, "separators": (",", ":")}
            try:
                super().render(**kwargs)
            finally:
                policies["json.dumps_kwargs"] = saved


class _CompactGeoJson(_Compact, folium.GeoJson):
    """folium.GeoJson with its shapes written as compact JSON."""


class _PlaceNames(_Compact, MacroElement):
    """A name on every region, at its label point (shapes.label_points), and none overlapping:
    after every zoom, move or resize the names are placed largest region first, each at its label
    point or, if that is taken, a line or two above or below or aside (its middle still over its
    own region), clear of the room markers where it can be and over them where it cannot; a name is
    hidden when every place would touch a name already shown or a map control (the legend, the
    zoom buttons), or lie off the map, and when its region is drawn smaller than half the name's
    own box. Names are data: they reach the page as JSON and the browser sets them as text, so no
    name can become markup. With ``toggle`` a checkbox of that text shows or hides them."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }};
    var items = {{ this.items|tojson }};
    var toggleText = {{ this.toggle|tojson }};
    map.createPane("atlasNames");
    var pane = map.getPane("atlasNames");
    pane.style.zIndex = 620;  // above the shapes (400) and room markers (600), under tooltips (650)
    pane.style.pointerEvents = "none";
    var group = L.layerGroup();
    items.forEach(function(item) {
        var text = document.createElement("span");
        text.className = "atlas-name-text";
        text.textContent = item.name;
        text.setAttribute("data-code", item.code);
        item.text = text;
        item.box = L.latLngBounds(item.bounds);
        var icon = L.divIcon({className: "atlas-name", html: text, iconSize: null});
        group.addLayer(L.marker([item.lat, item.lon], {icon: icon, interactive: false, keyboard: false,
                                                       pane: "atlasNames"}));
    });
    function touches(a, b) {
        var gap = 2;
        return a.left < b.right + gap && b.left < a.right + gap && a.top < b.bottom + gap && b.top < a.bottom + gap;
    }
    function moved(r, dx, dy) {
        return {left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy};
    }
    function declutter() {
        if (!map.hasLayer(group)) { return; }
        var frame = map.getContainer().getBoundingClientRect();
        var placed = [], markers = [];  // the map's controls and names shown; the room markers
        function boxes(selector, into) {
            map.getContainer().querySelectorAll(selector).forEach(function(el) {
                var r = el.getBoundingClientRect();
                if (r.width && r.height) { into.push(r); }
            });
        }
        var regionOf = new Map();  // each region's SVG path -> its code
        map.eachLayer(function(layer) {
            if (layer.feature && layer._path && layer.feature.properties
                    && layer.feature.properties.region_code != null) {
                regionOf.set(layer._path, String(layer.feature.properties.region_code));
            }
        });
        function regionAt(x, y) {  // the region drawn at a point of the page, under any marker
            var stack = document.elementsFromPoint(x, y);
            for (var i = 0; i < stack.length; i++) {
                if (regionOf.has(stack[i])) { return regionOf.get(stack[i]); }
            }
            return null;
        }
        boxes(".leaflet-control, .atlas-legend", placed);
        boxes(".leaflet-marker-pane .leaflet-marker-icon", markers);
        items.forEach(function(item) {
            var now = item.text.getBoundingClientRect();
            var r = moved(now, -(item.dx || 0), -(item.dy || 0));  // where it sits unshifted
            var sw = map.latLngToContainerPoint(item.box.getSouthWest());
            var ne = map.latLngToContainerPoint(item.box.getNorthEast());
            var w = Math.abs(ne.x - sw.x), h = Math.abs(sw.y - ne.y);
            var found = null, width = r.right - r.left, height = r.bottom - r.top;
            if (width > 0 && item.name !== "" && w * h >= 0.5 * width * height) {
                // at the label point, else a line or two above or below, or aside, as long as the
                // name's middle stays over its own region; clear of the room markers if it can
                // be, else over them (the markers still take the pointer: names let it through)
                var up = height + 2, side = width / 2 + 2;
                var tries = [[0, 0], [0, -up], [0, up], [-side, 0], [side, 0], [-side, -up], [side, -up],
                             [-side, up], [side, up], [0, -2 * up], [0, 2 * up]];
                [placed.concat(markers), placed].forEach(function(obstacles) {
                    for (var i = 0; i < tries.length && !found; i++) {
                        var c = moved(r, tries[i][0], tries[i][1]);
                        var onMap = c.left >= frame.left && c.right <= frame.right && c.top >= frame.top
                            && c.bottom <= frame.bottom;
                        if (onMap && !obstacles.some(function(p) { return touches(c, p); })
                                && (i === 0 || regionAt((c.left + c.right) / 2, (c.top + c.bottom) / 2) === item.code)) {
                            found = {rect: c, dx: tries[i][0], dy: tries[i][1]};
                        }
                    }
                });
            }
            item.dx = found ? found.dx : 0;
            item.dy = found ? found.dy : 0;
            item.text.style.left = item.dx + "px";
            item.text.style.top = item.dy + "px";
            item.text.classList.toggle("atlas-name-off", !found);
            if (found) { placed.push(found.rect); }
        });
    }
    var settle = null;
    function later() {  // and once more when the room clusters have settled after a zoom
        declutter();
        clearTimeout(settle);
        settle = setTimeout(declutter, 400);
    }
    group.addTo(map);
    map.on("zoomend moveend resize", later);
    map.whenReady(function() {
        requestAnimationFrame(function() { requestAnimationFrame(declutter); });
    });
    if (document.fonts && document.fonts.ready) { document.fonts.ready.then(declutter); }
    var legend = document.querySelector(".atlas-legend");
    if (legend) { legend.addEventListener("toggle", function() { setTimeout(declutter, 0); }); }
    if (toggleText) {
        var Toggle = L.Control.extend({
            options: {position: "topleft"},
            onAdd: function() {
                var box = L.DomUtil.create("label", "atlas-names-toggle leaflet-bar");
                var check = L.DomUtil.create("input", "", box);
                check.type = "checkbox";
                check.checked = true;
                box.appendChild(document.createTextNode(toggleText));
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.on(check, "change", function() {
                    if (check.checked) { group.addTo(map); declutter(); } else { map.removeLayer(group); }
                });
                return box;
            }
        });
        new Toggle().addTo(map);
    }
})();
{% endmacro %}
""")

    def __init__(self, items: list[dict], toggle: str | None):
        super().__init__()
        self._name = "PlaceNames"
        self.items = [{k: item[k] for k in ("code", "name", "lat", "lon", "bounds")} for item in items]
        self.toggle = toggle or ""


def add_place_names(m: folium.Map, geojson: dict, toggle: str | None = None) -> folium.Map:
    """Name every region of ``geojson`` on ``m`` (its ``region_name``), none overlapping another
    at the zoom shown (see _PlaceNames); ``toggle``: the text of a checkbox that hides them."""
    m.get_root().header.add_child(Element(NAMES_CSS), name="atlas_names_css")
    m.add_child(_PlaceNames(shapes.label_points(geojson), toggle))
    return m


# Above this many shapes Leaflet draws on one <canvas> instead of one SVG <path> each: thousands
# of SVG nodes make every pan and zoom slow to repaint, a canvas stays quick. Tooltips, clicks
# and the hover outline work on either.
CANVAS_PATHS = 5000


def paths_in(geojson: dict) -> int:
    """How many vector shapes Leaflet makes of ``geojson``: one per feature with a geometry (a
    MultiPolygon is one path)."""
    return sum(1 for f in geojson.get("features", []) if f.get("geometry"))


def base_map(geojson: dict, canvas: bool | None = None) -> folium.Map:
    """An empty map with no tile layer, fitted to ``geojson``, on a neutral background.

    ``canvas``: draw on Leaflet's canvas renderer; None decides by the number of shapes
    (more than CANVAS_PATHS).

    The first fit (in the page's script) keeps a margin of 8 px; _FitToFrame then fits again to
    the frame's real size, leaving room for the legend only where there is room to spare.
    """
    # No tile layer means no maxZoom from a layer; marker clusters need one, so set it here.
    if canvas is None:
        canvas = paths_in(geojson) > CANVAS_PATHS
    m = folium.Map(tiles=None, control_scale=False, zoom_snap=0.25, prefer_canvas=bool(canvas), maxZoom=18)
    m.add_child(_MetricScale())
    m.add_child(_PlainAttribution())
    m.get_root().header.add_child(Element(
        f"<style>.leaflet-container {{ background: {BACKGROUND}; }}</style>"
    ))
    m.get_root().header.add_child(Element(LEGEND_CSS), name="atlas_legend_css")
    bounds = shapes.bounds(geojson)
    m.fit_bounds(bounds, padding_top_left=(8, 8), padding_bottom_right=(8, 8))
    m.add_child(_FitToFrame(bounds))
    return m


def choropleth(geojson: dict, colour_of: dict[str, str], tooltip_fields: list[str],
               tooltip_labels: list[str], legend: Legend, highlight: bool = True,
               selected: str | None = None, playback: dict | None = None, names: bool = True,
               names_toggle: str | None = None, outline_of: dict[str, str] | None = None,
               mark_of: dict[str, str] | None = None) -> folium.Map:
    """A township choropleth.

    Parameters
    ----------
    geojson : FeatureCollection whose features carry ``region_code`` and the tooltip fields
        (already formatted as text by the caller).
    colour_of : fill colour per region_code; codes not in it are drawn as missing (grey).
    tooltip_fields, tooltip_labels : feature properties to show on hover, and their labels.
    legend : what the legend says.
    selected : a region_code drawn with a heavy outline (the township whose panel is open).
    playback : months to step through in the browser (see :func:`playback_data`), with a
        播放/暂停 button, a month slider and the month's name on the map; None for a still map.
    names : write each region's ``region_name`` on it (add_place_names); ``names_toggle`` is the
        text of the checkbox that hides them (none without it).
    outline_of : region_code → colour of a thick outline (the hotspot map's significant hot and
        cold spots), raised above the other townships' borders.
    mark_of : region_code → a short label written inside the region (热点, 冷点).

    Returns
    -------
    folium.Map with one GeoJson layer (one SVG path per township, or one canvas for them all above
    CANVAS_PATHS townships), the legend, the names and labels.
    """
    m = base_map(geojson)
    layer = _CompactGeoJson(
        _tooltip_text(geojson, tooltip_fields),
        name="townships",
        style_function=lambda f: _style(f["properties"]["region_code"], colour_of, selected, outline_of or {}),
        highlight_function=(lambda f: {"weight": 3, "color": "#333333"}) if highlight else None,
        # folium's tooltip writes fields and aliases into the page as HTML: both go in escaped
        tooltip=folium.GeoJsonTooltip(fields=tooltip_fields, aliases=[safe.html(a) for a in tooltip_labels],
                                      sticky=True),
    )
    layer.add_to(m)
    if outline_of:
        m.add_child(_OutlinesOnTop(layer, sorted(outline_of)))
    if mark_of:
        add_marks(m, geojson, mark_of, outline_of or {})
    m.get_root().add_child(_LegendElement(legend))
    if playback is not None:
        m.get_root().header.add_child(Element(PLAYBACK_CSS), name="atlas_playback_css")
        m.add_child(_Playback(layer, playback))
    if names:
        add_place_names(m, geojson, names_toggle)
    return m


# The playback bar: a Leaflet control at the bottom of the map (clicks and drags on it never reach
# the map, so they neither pan it nor send a click to the page).
PLAYBACK_CSS = """<style>
.atlas-playback { display: flex; align-items: center; gap: 8px; box-sizing: border-box;
  background: rgba(255,255,255,0.94); padding: 4px 8px; border: 1px solid #bbb; border-radius: 4px;
  font: 13px/1.4 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif; color: #222;
  width: min(420px, calc(100vw - 20px)); }
.atlas-playback button { font: inherit; padding: 2px 12px; border: 1px solid #888; border-radius: 4px;
  background: #fff; cursor: pointer; white-space: nowrap; min-height: 30px; }
.atlas-playback input[type=range] { flex: 1 1 auto; min-width: 60px; margin: 0; }
.atlas-playback-month { white-space: nowrap; font-weight: 600; min-width: 5.5em; }
.atlas-legend:not([open]) { min-width: 0 !important; }  /* folded: its title alone, however wide it was open */
</style>"""


class _Playback(MacroElement):
    """Step a choropleth through months in the browser: restyle each polygon, rewrite its tooltip
    fields and the legend rows' counts, without a round trip to the server. The layer's own style
    function keeps its outline (the selected township) and hover highlight; only the fill follows
    the month, so that Leaflet's resetStyle after a hover keeps the month's colour."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }};
    var layer = {{ this.layer.get_name() }};
    var play = {{ this.data|tojson }};
    var frames = play.frames, at = play.start, timer = null, started = false;
    var base = layer.options.style;
    layer.options.style = function(feature) {
        var style = Object.assign({}, base ? base(feature) : {});
        style.fillColor = frames[at].fill[feature.properties.region_code] || play.missing;
        return style;
    };
    var legend = document.querySelector(".atlas-legend");
    function legendRows(rows) {  // the month's rows: its colours and counts, as text, never HTML
        if (!legend) { return; }
        Array.prototype.filter.call(legend.children, function(el) {
            return el.tagName === "DIV" && !el.classList.contains("atlas-note");
        }).forEach(function(el) { el.remove(); });
        var notes = legend.querySelector(".atlas-note");
        rows.forEach(function(row) {
            var div = document.createElement("div");
            var swatch = document.createElement("span");
            swatch.className = "atlas-swatch";
            swatch.style.background = row[0];
            div.appendChild(swatch);
            div.appendChild(document.createTextNode(row[1]));
            legend.insertBefore(div, notes);
        });
        // the widest month so far: the legend does not narrow and widen (and the map refit) as counts change
        if (legend.open) {
            legend.style.minWidth = Math.max(parseFloat(legend.style.minWidth) || 0, legend.offsetWidth) + "px";
        }
    }
    var bar = L.DomUtil.create("div", "atlas-playback");
    var button = L.DomUtil.create("button", "atlas-playback-button", bar);
    button.type = "button";
    var slider = L.DomUtil.create("input", "atlas-playback-slider", bar);
    slider.type = "range"; slider.min = 0; slider.max = frames.length - 1; slider.step = 1;
    slider.setAttribute("aria-label", play.words.month);
    var label = L.DomUtil.create("span", "atlas-playback-month", bar);
    label.setAttribute("aria-live", "polite");
    L.DomEvent.disableClickPropagation(bar);
    L.DomEvent.disableScrollPropagation(bar);
    var control = L.control({position: "bottomleft"});
    control.onAdd = function() { return bar; };
    control.addTo(map);

    function show(n) {
        at = Math.max(0, Math.min(frames.length - 1, n));
        var frame = frames[at];
        layer.eachLayer(function(shape) {
            var props = shape.feature && shape.feature.properties;
            if (!props) { return; }
            var tip = frame.tips[props.region_code] || play.blank;
            for (var field in tip) { props[field] = tip[field]; }
            layer.resetStyle(shape);
        });
        legendRows(frame.rows);
        slider.value = at;
        label.textContent = frame.label + (frame.empty ? " · " + play.words.nodata : "");
        bar.setAttribute("data-month", frame.period);
    }
    function pause() {
        if (timer !== null) { clearInterval(timer); timer = null; }
        button.textContent = play.words.play;
        bar.setAttribute("data-playing", "0");
    }
    function step() {
        if (at >= frames.length - 1) { pause(); return; }
        show(at + 1);
        if (at >= frames.length - 1) { pause(); }  // the last month with data: stop there
    }
    button.addEventListener("click", function() {
        if (timer !== null) { pause(); return; }
        if (!started || at >= frames.length - 1) { show(0); }  // from the year's first month
        started = true;
        button.textContent = play.words.pause;
        bar.setAttribute("data-playing", "1");
        timer = setInterval(step, play.interval);
    });
    slider.addEventListener("input", function() {
        started = true;
        pause();
        show(parseInt(slider.value, 10));
    });
    pause();
    show(at);
})();
{% endmacro %}
""")

    def __init__(self, layer, data: dict):
        super().__init__()
        self._name = "AtlasPlayback"
        self.layer = layer
        self.data = data


def playback_data(frames: list[dict], start: int, words: dict[str, str], fields: list[str],
                  interval_ms: int = 1200) -> dict:
    """What :class:`_Playback` reads. ``frames``: one per month, each with ``period``, ``label``,
    ``empty`` (no data that month), ``fill`` (region_code → colour; absent = no data) and ``tips``
    (region_code → tooltip field → text, escaped here for folium's HTML tooltip) and ``rows`` (the
    legend's (colour, text) rows that month); ``words``: the
    button's, the slider's and the no-data words (play, pause, month, nodata)."""
    out = []
    for f in frames:
        tips = {code: {k: safe.html(v) for k, v in tip.items()} for code, tip in f["tips"].items()}
        out.append({"period": f["period"], "label": f["label"], "empty": bool(f["empty"]),
                    "fill": dict(f["fill"]), "tips": tips, "rows": [[c, text] for c, text in f["rows"]]})
    blank = {k: "" for k in fields if k != "region_name"}
    return {"frames": out, "start": int(start), "words": dict(words), "missing": MISSING_COLOUR,
            "blank": blank, "interval": int(interval_ms)}


OUTLINE_WEIGHT = 4


def _style(code: str, colour_of: dict, selected: str | None, outline_of: dict) -> dict:
    """A township's fill and border: white borders, a heavy dark one for the open township, a
    thick coloured one for an outlined (hot or cold) township."""
    style = {"fillColor": colour_of.get(code, MISSING_COLOUR), "color": "#ffffff", "weight": 1, "fillOpacity": 0.85}
    if code in outline_of:
        style.update(color=outline_of[code], weight=OUTLINE_WEIGHT, opacity=1)
    if code == selected:
        style.update(color="#111111", weight=OUTLINE_WEIGHT + 1 if code in outline_of else 3.5)
    return style


class _OutlinesOnTop(MacroElement):
    """Raise the outlined townships above the others, so that a neighbour drawn later does not
    paint its white border over half of a thick outline (SVG draws in document order)."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var raised = {{ this.codes|tojson }};
    {{ this.layer.get_name() }}.eachLayer(function(l) {
        if (l.feature && raised.indexOf(String(l.feature.properties.region_code)) >= 0 && l.bringToFront) {
            l.bringToFront();
        }
    });
})();
{% endmacro %}
""")

    def __init__(self, layer, codes):
        super().__init__()
        self._name = "OutlinesOnTop"
        self.layer = layer
        self.codes = [str(c) for c in codes]


def label_point(geometry: dict) -> tuple[float, float]:
    """(lat, lon) of a point inside a GeoJSON (Multi)Polygon, where its label is written: its
    largest part's representative point (inside, unlike a centroid of a crescent)."""
    shape = shapely.geometry.shape(geometry)
    if shape.geom_type == "MultiPolygon":
        shape = max(shape.geoms, key=lambda g: g.area)
    point = shape.representative_point()
    return point.y, point.x


def add_marks(m: folium.Map, geojson: dict, mark_of: dict[str, str], colour_of: dict[str, str]) -> folium.Map:
    """Write a short label (``mark_of``: region_code → text) inside each such region, in its
    ``colour_of`` colour with a white halo; text, never HTML, and not clickable."""
    group = folium.FeatureGroup(name="marks", control=False)
    for feature in geojson["features"]:
        code = feature["properties"]["region_code"]
        if code not in mark_of:
            continue
        lat, lon = label_point(feature["geometry"])
        colour = colour_of.get(code, "#222222")
        folium.Marker(
            [lat, lon], interactive=False, keyboard=False,
            icon=folium.DivIcon(html=f'<div class="atlas-mark" style="color:{safe.html(colour)}">'
                                     f"{safe.html(mark_of[code])}</div>",
                                class_name="atlas-mark-icon", icon_size=(0, 0)),
        ).add_to(group)
    group.add_to(m)
    m.add_child(_Declutter())
    return m


class _Declutter(MacroElement):
    """Hide a label that would overlap one already shown (two neighbouring hot spots zoomed out
    on a phone read "热点热点"); zoomed in, both show again. The outlines still mark every one."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function() {
    var map = {{ this._parent.get_name() }};
    function declutter() {
        var shown = [];
        map.getContainer().querySelectorAll(".atlas-mark").forEach(function(el) {
            el.style.visibility = "visible";
            var r = el.getBoundingClientRect();
            var hit = shown.some(function(s) {
                return r.left < s.right && r.right > s.left && r.top < s.bottom && r.bottom > s.top;
            });
            if (hit) { el.style.visibility = "hidden"; } else { shown.push(r); }
        });
    }
    map.on("zoomend moveend resize", declutter);
    map.whenReady(function() { requestAnimationFrame(function() { requestAnimationFrame(declutter); }); });
})();
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "Declutter"


def _tooltip_text(geojson: dict, fields: list[str]) -> dict:
    """A copy of ``geojson`` whose tooltip fields are HTML-escaped text (names come from files)."""
    features = [
        {**f, "properties": {k: safe.html(v) if k in fields else v for k, v in f["properties"].items()}}
        for f in geojson["features"]
    ]
    return {**geojson, "features": features}


CLUSTER_COLOUR = "#4d4d4d"
CLUSTER_ICON = """function(cluster) {
    var n = cluster.getChildCount();
    var size = n < 10 ? 26 : (n < 100 ? 32 : 38);
    return L.divIcon({html: '<div class="atlas-cluster">' + n + '</div>', className: 'atlas-cluster-icon',
                      iconSize: L.point(size, size)});
}"""
CLUSTER_CSS = f"""<style>
.atlas-cluster-icon .atlas-cluster {{ width: 100%; height: 100%; box-sizing: border-box; border-radius: 50%;
  background: {CLUSTER_COLOUR}; opacity: 0.85; color: #fff; border: 2px solid #fff; display: flex;
  align-items: center; justify-content: center; font: 600 12px/1 sans-serif; }}
</style>"""


def add_points(m: folium.Map, points: list[dict], colour_by: dict[str, str], cluster: bool = True) -> folium.Map:
    """Add circle markers: each point dict has lat, lon, kind and tooltip (text).

    One GeoJSON layer for all points, not one marker object each: that halves what the
    browser receives for a city's few hundred rooms. With ``cluster`` the points gather into
    counted clusters while zoomed out (Leaflet.markercluster, served locally) and show one by one
    from street level (zoom 13) or when few are close together.
    """
    features = [
        {
            "type": "Feature",
            "id": i,  # folium's style lookup keys on the id; without it it repeats each tooltip
            "properties": {"kind": p["kind"], "tooltip": p["tooltip"]},
            "geometry": {"type": "Point", "coordinates": [round(float(p["lon"]), 5), round(float(p["lat"]), 5)]},
        }
        for i, p in enumerate(points)
    ]
    if not features:
        return m
    layer = folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="points",
        marker=folium.CircleMarker(radius=5, weight=1, color="#333333", fill=True, fill_opacity=0.95),
        style_function=lambda f: {"fillColor": colour_by.get(f["properties"]["kind"], "#555555")},
        # Each marker gets its own tooltip. One bound to the whole layer (folium's GeoJsonTooltip)
        # breaks inside a marker cluster: the cluster adds the markers, never the layer, so the
        # layer has no map and every hover threw 'mouseEventToContainerPoint' of undefined. The
        # text goes in as text, never as HTML: a room or township name cannot run a script (the
        # caller's line breaks, "<br>", become line breaks and nothing else).
        on_each_feature=JsCode("""function(feature, layer) {
            layer.bindTooltip(function() {
                var box = document.createElement("div");
                String(feature.properties.tooltip).split("<br>").forEach(function(line, i) {
                    if (i) { box.appendChild(document.createElement("br")); }
                    box.appendChild(document.createTextNode(line));
                });
                return box;
            }, {sticky: true, className: "atlas-room-tooltip"});
        }"""),
    )
    if cluster:
        # neutral grey bubbles: markercluster's own green, yellow and orange read as room types
        group = folium.plugins.MarkerCluster(name="rooms", control=False, options={
            "maxClusterRadius": 30, "disableClusteringAtZoom": 13, "showCoverageOnHover": False,
            "spiderfyOnMaxZoom": False,
        }, icon_create_function=CLUSTER_ICON)
        m.get_root().header.add_child(Element(CLUSTER_CSS), name="atlas_cluster_css")
        layer.add_to(group)
        group.add_to(m)
    else:
        layer.add_to(m)
    return m


def add_radius(m: folium.Map, points: list[dict], radius_km: float, colour: str = "#3182bd") -> folium.Map:
    """A service-radius circle (metres on the ground) around each point; drawn under the points
    and not clickable, so tooltips and clicks still reach the townships."""
    group = folium.FeatureGroup(name="radius", control=False)
    for p in points:
        folium.Circle(location=[float(p["lat"]), float(p["lon"])], radius=radius_km * 1000, color=colour,
                      weight=1, opacity=0.6, fill=True, fill_opacity=0.08, interactive=False).add_to(group)
    group.add_to(m)
    return m
