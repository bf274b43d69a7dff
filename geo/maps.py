"""Folium maps: township choropleths with class breaks, legend, notes and points. No tiles.

Text shown on the map (labels, legend title, notes, tooltips) is passed in by the caller, so
this module holds no interface language.
"""
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
    function padding(narrow) {
        if (!legend) { return [[8, 8], [8, 8]]; }
        if (!legend.open) { return folded(); }
        return narrow ? [[8, 8], [8, 8]] : beside();  // opened by hand on a phone: it lies over the map
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


def base_map(geojson: dict) -> folium.Map:
    """An empty map with no tile layer, fitted to ``geojson``, on a neutral background.

    The first fit (in the page's script) keeps a margin of 8 px; _FitToFrame then fits again to
    the frame's real size, leaving room for the legend only where there is room to spare.
    """
    # No tile layer means no maxZoom from a layer; marker clusters need one, so set it here.
    m = folium.Map(tiles=None, control_scale=False, zoom_snap=0.25, prefer_canvas=False, maxZoom=18)
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
               selected: str | None = None, outline_of: dict[str, str] | None = None,
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
    outline_of : region_code → colour of a thick outline (the hotspot map's significant hot and
        cold spots), raised above the other townships' borders.
    mark_of : region_code → a short label written inside the region (热点, 冷点).

    Returns
    -------
    folium.Map with one GeoJson layer (one SVG path per township), the labels, and the legend.
    """
    m = base_map(geojson)
    layer = folium.GeoJson(
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
    return m


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
