"""The CJK font for static exports: Noto Sans CJK SC from the mplfonts package, never a system font.

A fresh machine (an intranet PC, a CI runner) may have no Chinese font at all; the mplfonts wheel
ships one, so it is registered with matplotlib from the package folder directly. mplfonts' own
CLI is not used: it rewrites matplotlibrc and can download fonts.
"""
import importlib.util
from functools import cache
from pathlib import Path

from matplotlib import font_manager

FONT_FILE = "NotoSansCJKsc-Regular.otf"


def font_path() -> Path:
    """The font file inside the installed mplfonts package (found without importing it)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mplfonts is not installed; it ships the CJK font the exports need")
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / FONT_FILE
    if not path.is_file():
        raise RuntimeError(f"mplfonts has no {FONT_FILE}; reinstall mplfonts==0.0.11")
    return path


@cache
def cjk_family() -> str:
    """Register the font with matplotlib (once per process) and return its family name."""
    path = font_path()
    manager = font_manager.fontManager
    manager.addfont(str(path))
    # A machine with fonts-noto-cjk has a system font of the same family name; findfont keeps the
    # first of equally good matches, so the package's file goes first and always wins the tie.
    manager.ttflist = sorted(manager.ttflist, key=lambda entry: Path(entry.fname) != path)
    manager._findfont_cached.cache_clear()
    return font_manager.FontProperties(fname=str(path)).get_name()


def rc() -> dict:
    """rcParams for drawing Chinese text: the CJK font first, a real minus sign it has."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [cjk_family(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        # Type 3 glyph outlines: matplotlib would embed the CFF (.otf) font as TrueType under fonttype 42,
        # which poppler flags as a font-type mismatch and stricter readers may refuse.
        "pdf.fonttype": 3,
        # Names come from files: "$x$" in a township or room name is text, not mathtext.
        "text.parse_math": False,
    }
