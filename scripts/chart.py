#!/usr/bin/env python3
"""Grouped bar chart (SVG) of the CSV that benches/examples/compare.rs writes.

    cargo run --release --manifest-path benches/Cargo.toml --example compare -- --csv /tmp/compare.csv
    python3 scripts/chart.py /tmp/compare.csv docs/compare.svg

One group of bars per cell (in the CSV's order), one bar per library (panama first, then
the peers in the CSV's order). The y axis is ns per message on a log scale: the cells span
four decades (about 10 ns streaming, thousands of ns on rendezvous channels), so a linear
axis would flatten every streaming cell to nothing, and a ratio-to-best axis would hide
that a 2x gap at 10 ns and one at 10,000 ns are different problems. Each bar is the
median over the rounds; its whisker runs from the fastest to the slowest round. Above
each group is panama's median over the best peer's (below 1: panama is faster).

Python 3 standard library only (no matplotlib): the SVG is written by hand.
"""

import argparse
import csv
import math
import sys
from xml.sax.saxutils import escape

# panama stands out; the peers get muted, distinguishable colors (Okabe-Ito palette,
# readable with the common color-vision deficiencies).
PANAMA_COLOR = "#d55e00"
PEER_COLORS = ["#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#999999"]

BAR = 11  # bar width, px
GROUP_GAP = 18  # space between groups, px
TOP = 80  # title, ratio caption and ratio row
BOTTOM = 120  # rotated cell names
LEFT = 78  # y tick labels and axis title
RIGHT = 150  # legend
PLOT_HEIGHT = 360


def read_rows(path):
    """The CSV's rows as dicts with the numbers parsed."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    needed = {"cell", "library", "median_ns_per_msg", "min", "max", "rounds"}
    if not rows or not needed <= set(rows[0]):
        sys.exit(f"{path}: expected a compare CSV with columns {sorted(needed)}")
    for row in rows:
        for key in ("median_ns_per_msg", "min", "max"):
            row[key] = float(row[key])
    return rows


def ordered_unique(values):
    """values without repeats, in first-seen order."""
    seen = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def ratio_to_best_peer(by_key, cell, libraries):
    """panama's median over the fastest peer's on `cell`, or None."""
    panama = by_key.get((cell, "panama"))
    peers = [by_key[(cell, lib)]["median_ns_per_msg"] for lib in libraries
             if lib != "panama" and (cell, lib) in by_key]
    if panama is None or not peers:
        return None
    return panama["median_ns_per_msg"] / min(peers)


def chart(rows, title):
    """The SVG document, as a string."""
    cells = ordered_unique(r["cell"] for r in rows)
    libraries = ordered_unique(r["library"] for r in rows)
    if "panama" in libraries:
        libraries.remove("panama")
        libraries.insert(0, "panama")
    colors = {}
    peer_colors = iter(PEER_COLORS * 4)
    for lib in libraries:
        colors[lib] = PANAMA_COLOR if lib == "panama" else next(peer_colors)
    by_key = {(r["cell"], r["library"]): r for r in rows}

    # Log axis over whole decades that cover every whisker.
    low = min(min(r["min"], r["median_ns_per_msg"]) for r in rows)
    high = max(max(r["max"], r["median_ns_per_msg"]) for r in rows)
    low_decade = math.floor(math.log10(max(low, 1e-3)))
    high_decade = math.ceil(math.log10(max(high, 1e-3)))
    if high_decade == low_decade:
        high_decade += 1

    def y(value):
        """Pixel row of `value` ns/msg."""
        frac = (math.log10(max(value, 10.0 ** low_decade)) - low_decade) / (high_decade - low_decade)
        return TOP + PLOT_HEIGHT * (1 - frac)

    group_width = BAR * len(libraries) + GROUP_GAP
    plot_width = group_width * len(cells)
    width = LEFT + plot_width + RIGHT
    height = TOP + PLOT_HEIGHT + BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{LEFT + plot_width / 2}" y="20" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
    ]

    # Grid: a solid line per decade, faint ones at 2x and 5x.
    for decade in range(low_decade, high_decade + 1):
        value = 10.0 ** decade
        row = y(value)
        out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_width}" y1="{row:.1f}" y2="{row:.1f}" '
                   f'stroke="#bbbbbb"/>')
        label = f"{value:g}" if value < 1e6 else f"1e{decade}"
        out.append(f'<text x="{LEFT - 6}" y="{row + 4:.1f}" text-anchor="end">{label}</text>')
        if decade < high_decade:
            for mult in (2, 5):
                minor = y(value * mult)
                out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_width}" y1="{minor:.1f}" '
                           f'y2="{minor:.1f}" stroke="#eeeeee"/>')
    mid = TOP + PLOT_HEIGHT / 2
    out.append(f'<text x="16" y="{mid}" text-anchor="middle" transform="rotate(-90 16 {mid})" '
               f'font-size="12">ns per message (median over rounds, log scale)</text>')
    out.append(f'<text x="{LEFT}" y="{TOP - 26}" fill="{PANAMA_COLOR}">panama median / best '
               f'peer median, per cell (bold: below 1, panama faster):</text>')

    # Bars, whiskers and the ratio above each group.
    base = y(10.0 ** low_decade)
    ratios = []
    for index, cell in enumerate(cells):
        x0 = LEFT + index * group_width + GROUP_GAP / 2
        for slot, lib in enumerate(libraries):
            row = by_key.get((cell, lib))
            if row is None:
                continue  # this library does not run this cell (e.g. std on mpmc)
            x = x0 + slot * BAR
            top = y(row["median_ns_per_msg"])
            tip = (f"{cell} {lib}: {row['median_ns_per_msg']:.1f} ns/msg "
                   f"(min {row['min']:.1f}, max {row['max']:.1f}, {row['rounds']} rounds)")
            out.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{BAR - 1}" '
                       f'height="{max(base - top, 0.5):.1f}" fill="{colors[lib]}">'
                       f'<title>{escape(tip)}</title></rect>')
            cx = x + (BAR - 1) / 2
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(row["max"]):.1f}" '
                       f'y2="{y(row["min"]):.1f}" stroke="#333333" stroke-width="0.8"/>')
        ratio = ratio_to_best_peer(by_key, cell, libraries)
        if ratio is not None:
            ratios.append(ratio)
            cx = x0 + BAR * len(libraries) / 2
            weight = ' font-weight="bold"' if ratio < 1 else ""
            out.append(f'<text x="{cx:.1f}" y="{TOP - 10}" text-anchor="middle" '
                       f'fill="{PANAMA_COLOR}"{weight}>{ratio:.2f}</text>')
        # The cell name, rotated under its group.
        lx = x0 + BAR * len(libraries) / 2
        ly = TOP + PLOT_HEIGHT + 12
        out.append(f'<text x="{lx:.1f}" y="{ly}" text-anchor="end" '
                   f'transform="rotate(-40 {lx:.1f} {ly})">{escape(cell)}</text>')

    # Axes.
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PLOT_HEIGHT}" stroke="black"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_width}" y1="{TOP + PLOT_HEIGHT}" '
               f'y2="{TOP + PLOT_HEIGHT}" stroke="black"/>')
    out.append(f'<text x="{LEFT + plot_width / 2}" y="{height - 8}" text-anchor="middle" '
               f'font-size="12">cell (shape/flavor[/message])</text>')

    # Legend.
    lx = LEFT + plot_width + 16
    out.append(f'<text x="{lx}" y="{TOP + 4}" font-weight="bold">library</text>')
    for i, lib in enumerate(libraries):
        ly = TOP + 20 + i * 18
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="12" fill="{colors[lib]}"/>')
        out.append(f'<text x="{lx + 18}" y="{ly + 1}">{escape(lib)}</text>')
    ly = TOP + 20 + len(libraries) * 18 + 10
    out.append(f'<line x1="{lx + 6}" x2="{lx + 6}" y1="{ly - 10}" y2="{ly + 4}" stroke="#333333"/>')
    out.append(f'<text x="{lx + 18}" y="{ly}">min-max over</text>')
    rounds = ordered_unique(str(r["rounds"]) for r in rows)
    out.append(f'<text x="{lx + 18}" y="{ly + 13}">{escape("/".join(rounds))} rounds</text>')
    out.append(f'<text x="{lx}" y="{ly + 36}">no bar: the library</text>')
    out.append(f'<text x="{lx}" y="{ly + 49}">cannot run the cell</text>')
    out.append(f'<text x="{lx}" y="{ly + 62}">(std: no mpmc)</text>')
    if ratios:
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        out.append(f'<text x="{lx}" y="{ly + 90}" fill="{PANAMA_COLOR}">geometric mean of</text>')
        out.append(f'<text x="{lx}" y="{ly + 103}" fill="{PANAMA_COLOR}">panama / best peer</text>')
        out.append(f'<text x="{lx}" y="{ly + 116}" fill="{PANAMA_COLOR}">over {len(ratios)} cells: '
                   f'<tspan font-weight="bold">{geomean:.2f}</tspan></text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", help="CSV written by `compare --csv`")
    parser.add_argument("svg", nargs="?", default="docs/compare.svg",
                        help="output SVG (default: docs/compare.svg)")
    parser.add_argument("--title", default="Channel throughput: panama vs peers",
                        help="chart title")
    args = parser.parse_args()
    svg = chart(read_rows(args.csv), args.title)
    with open(args.svg, "w") as f:
        f.write(svg)
    print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()
