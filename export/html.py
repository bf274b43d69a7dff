"""One self-contained HTML file with the interactive map: Leaflet's JS and CSS inlined, its images
as data: URIs, no request to any other host. It opens from a USB stick on an intranet PC."""
import base64
import json
import re

from branca.element import Element

from export.text import t
from export.views import CHILD, OTHER_ROOM_COLOUR, View
from geo import maps, offline, shapes
from i18n import safe
from indicators import fmt, suppress

# The only http(s) strings left in the file are XML namespace names, which no browser fetches.
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/1999/xhtml")
_URL = re.compile(r"https?://[^\s\"'<>()]+")


def _scrub(text: str) -> str:
    """Vendor text without links to other hosts: drop the source-map line, unlink the homepage."""
    text = re.sub(r"/[/*]# sourceMappingURL=.*", "", text)
    return _URL.sub(lambda m: m.group(0) if m.group(0) in NAMESPACES else m.group(0).split("://", 1)[1], text)


def _leaflet() -> tuple[str, str]:
    """Leaflet's JS and CSS, and its marker-cluster plugin's, from the XStatic packages, CSS
    images inlined as data: URIs."""
    files = {str(rel): src for rel, src in offline.vendor_files().items()}
    js = files["leaflet/leaflet.js"].read_text(encoding="utf-8")
    css = files["leaflet/leaflet.css"].read_text(encoding="utf-8")

    def inline(match):
        rel = "leaflet/" + match.group(1)
        if rel not in files:
            return match.group(0)
        data = base64.b64encode(files[rel].read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[^)]+\.png)\)", inline, css)
    # the room points' clusters (geo/maps.py MarkerCluster): its plugin, after Leaflet
    js += "\n" + files["leaflet.markercluster/leaflet.markercluster.js"].read_text(encoding="utf-8")
    css += "\n" + "\n".join(files[f"leaflet.markercluster/{name}"].read_text(encoding="utf-8")
                             for name in ("MarkerCluster.css", "MarkerCluster.Default.css"))
    return _scrub(js), _scrub(css)


_PAGE_CSS = """
<style>
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column;
       font: 14px/1.5 'Noto Sans CJK SC','Microsoft YaHei','PingFang SC','SimHei',sans-serif; color: #222; }
.atlas-head { order: -1; padding: 10px 16px 6px; border-bottom: 1px solid #ddd; }
.atlas-head h1 { font-size: 22px; margin: 0; }
.atlas-head p { margin: 2px 0 0; color: #555; }
.atlas-legend { top: 84px !important; }
.folium-map { flex: 1 1 auto; min-height: 360px; height: auto !important; }
.atlas-foot { order: 1; padding: 6px 16px 10px; border-top: 1px solid #ddd; color: #555; font-size: 12px;
              max-height: 45vh; overflow: auto; }
.atlas-foot table { border-collapse: collapse; margin-top: 6px; }
.atlas-foot th, .atlas-foot td { border: 1px solid #ccc; padding: 2px 8px; }
.atlas-foot td.num { text-align: right; }
</style>
"""


def build_map(view: View):
    """The folium map of the view: the same colours, legend and tooltips as the page."""
    labels = [c for c in view.cells.columns if c != "region_code"]
    by_code = view.cells.set_index("region_code")
    frame = view.shapes[["region_code", "region_name", "geometry"]].copy()
    fields = ["region_name"]
    for i, label in enumerate(labels):  # plain property names; the Chinese labels go in the tooltip
        frame[f"f{i}"] = [str(by_code.at[code, label]) if code in by_code.index else fmt.MISSING
                          for code in frame["region_code"]]
        fields.append(f"f{i}")
    labels = [t({"province": "PROVINCE", "city": "CITY", "county": "COUNTY"}.get(view.unit, "TOWNSHIP"), view.lang)] + labels
    geojson = json.loads(shapes.to_geojson(frame, ["region_code"] + fields))
    legend_notes = ([view.shading.note] if view.shading.note else []) + [view.data_as_of_text] + view.notes
    rows = [(r.colour, r.label) for r in view.shading.rows]
    if len(view.rooms):  # the room types, as the page shows above its map
        rows += [(view.room_colours.get(kind, OTHER_ROOM_COLOUR), f"● {kind}（{n}）")
                 for kind, n in view.rooms["room_type"].value_counts().items()]
    legend = maps.Legend(view.shading.title, rows, legend_notes,
                         outlines=[(r.colour, r.label) for r in view.shading.outline_rows])
    m = maps.choropleth(geojson, view.shading.colour_of, fields, labels, legend,
                        outline_of=view.shading.outline_of, mark_of=view.shading.mark_of,
                        names_toggle=t("MAP_NAMES", view.lang))
    if len(view.rooms):
        points = [
            {"lat": r.latitude, "lon": r.longitude, "kind": r.room_type,
             "tooltip": f"{r.name}（{r.room_type}，{r.township_name}）"}
            for r in view.rooms.dropna(subset=["longitude", "latitude"]).itertuples()
        ]
        colours = {k: view.room_colours.get(k, OTHER_ROOM_COLOUR) for k in view.rooms["room_type"].unique()}
        maps.add_points(m, points, colours)
    return m


def render(view: View) -> str:
    """The whole HTML document as text."""
    m = build_map(view)
    offline.localize(m, base_url="vendor")  # refuses elements that would need the internet
    for element in offline._walk(m):  # everything is inlined below: no links at all
        if getattr(element, "default_js", None):
            element.default_js = []
        if getattr(element, "default_css", None):
            element.default_css = []
    js, css = _leaflet()
    root = m.get_root()
    title = f"{view.region_name}{view.title}"
    root.header.add_child(Element(f"<title>{safe.html(title)}</title>"), name="atlas_title")
    root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js")
    root.header.add_child(Element(_PAGE_CSS), name="atlas_css")
    root.html.add_child(Element(
        f'<div class="atlas-head"><h1>{safe.html(title)}</h1>'
        f"<p>{safe.html(view.map_title)} · {safe.html(view.period_label)} · {safe.html(view.data_as_of_text)}</p></div>"
    ), name="atlas_head")
    root.html.add_child(Element(_table(view)), name="atlas_foot")
    return root.render()


def _table(view: View) -> str:
    """Below the map: the notes, and every township's figures as a plain table (searchable,
    printable); above a city, every region drawn (the nation's provinces, a province's cities)."""
    labels = [c for c in view.cells.columns if c != "region_code"]
    by_code = view.cells.set_index("region_code")
    above = CHILD.get(view.region_level)  # the cells are the drawn regions', never townships'
    if above:
        head_words, counted = [t(above.upper(), view.lang)], "LEGEND_PROVINCES" if above == "province" else "LEGEND_CITIES"
        names = dict(zip(view.shapes["region_code"], view.shapes["region_name"]))
        rows = [([names.get(code, code)], by_code.loc[code]) for code in sorted(by_code.index)]
    else:
        head_words, counted = [t("TOWNSHIP", view.lang), t("COUNTY", view.lang)], "LEGEND_TOWNSHIPS"
        rows = [([r["region_name"], r["county_name"] or ""], by_code.loc[r["region_code"]])
                for r in suppress.records(view.townships.sort_values("region_code"))]
    head = "".join(f"<th>{safe.html(h)}</th>" for h in head_words + labels)
    body = []
    for words, row in rows:
        named = "".join(f"<td>{safe.html(w)}</td>" for w in words)
        cells = "".join(f'<td class="num">{safe.html(str(row[label]))}</td>' for label in labels)
        body.append(f"<tr>{named}{cells}</tr>")
    notes = "".join(f"<div>{safe.html(n)}</div>" for n in view.notes)
    return (f'<div class="atlas-foot">{notes}<details><summary>{safe.html(view.shading.title)}'
            f"（{t(counted, view.lang, n=len(body))}）</summary>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></details></div>")


def write(view: View, path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(render(view))
