"""The report as a document: blocks rendered to Markdown and to one self-contained HTML page,
and the number formats its tables use."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Document:
    """A report as a list of blocks, rendered to Markdown and to HTML from the same source."""

    title: str
    blocks: list = field(default_factory=list)

    def heading(self, text: str, level: int = 2):
        self.blocks.append(("heading", level, text))

    def paragraph(self, text: str):
        self.blocks.append(("paragraph", text))

    def table(self, header: list[str], rows: list[list[str]]):
        self.blocks.append(("table", header, rows))

    def image(self, path: Path, caption: str):
        self.blocks.append(("image", Path(path), caption))

    def markdown(self, relative_to: Path) -> str:
        lines = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                lines += ["#" * block[1] + " " + block[2], ""]
            elif kind == "paragraph":
                lines += [block[1], ""]
            elif kind == "table":
                header, rows = block[1], block[2]
                lines.append("| " + " | ".join(header) + " |")
                lines.append("|" + "|".join("---" for _ in header) + "|")
                lines += ["| " + " | ".join(row) + " |" for row in rows]
                lines.append("")
            elif kind == "image":
                lines += [f"![{block[2]}]({block[1].relative_to(relative_to).as_posix()})", f"*{block[2]}*", ""]
        return "\n".join(lines)

    def html(self) -> str:
        parts = [
            "<!DOCTYPE html>", "<html><head><meta charset='utf-8'>", f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
            "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}"
            "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
            "figcaption{font-style:italic;margin-bottom:1.5em}code{background:#f4f4f4}</style>",
            "</head><body>", f"<h1>{html.escape(self.title)}</h1>",
        ]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                parts.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
            elif kind == "paragraph":
                parts.append(f"<p>{_inline_html(block[1])}</p>")
            elif kind == "table":
                header, rows = block[1], block[2]
                parts.append("<table><tr>" + "".join(f"<th>{_inline_html(h)}</th>" for h in header) + "</tr>")
                parts += ["<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>" for row in rows]
                parts.append("</table>")
            elif kind == "image":
                data = base64.b64encode(block[1].read_bytes()).decode("ascii")
                parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(block[2])}'>"
                             f"<figcaption>{html.escape(block[2])}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)


def write_document(out: Path, name: str, document: Document, summary: dict) -> Path:
    """Write ``out/<name>.md``, ``out/<name>.html`` and ``out/summary.json`` (NaN and inf as null),
    each atomically; returns the markdown file's path."""
    import json

    from opkit.io import write_text_atomic

    write_text_atomic(out / "summary.json", json.dumps(finite_or_none(summary), indent=2) + "\n")
    path = out / f"{name}.md"
    write_text_atomic(path, document.markdown(out))
    write_text_atomic(out / f"{name}.html", document.html())
    return path


def finite_or_none(value):
    """``value`` with every non-finite float (NaN, inf) replaced by None, for strict JSON."""
    if isinstance(value, dict):
        return {str(k): finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _inline_html(text: str) -> str:
    """Escape, then render the two Markdown inlines the report uses: **bold** and `code`."""
    text = html.escape(str(text))
    for marker, tag in (("**", "b"), ("`", "code")):
        pieces = text.split(marker)
        if len(pieces) % 2 == 1 and len(pieces) > 1:
            text = "".join(p if i % 2 == 0 else f"<{tag}>{p}</{tag}>" for i, p in enumerate(pieces))
    return text


def fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def fmt_p(value) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g}" + (" *" if value < 0.05 else "")
