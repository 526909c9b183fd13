"""The report document: one writer for the Markdown, HTML and strict-JSON summary."""

import json

from opkit.ablation.report.document import Document, write_document


def test_write_document_writes_strict_json_and_both_renderings(tmp_path):
    """The report and the cross-sweep summary share one writer: NaN and inf become null (strict JSON)."""
    document = Document("T")
    document.heading("H")
    path = write_document(tmp_path, "report", document, {"a": float("nan"), "b": [1.5, float("inf")], "c": {1: 2}})
    assert path == tmp_path / "report.md" and "H" in path.read_text()
    assert "H" in (tmp_path / "report.html").read_text()
    assert json.loads((tmp_path / "summary.json").read_text(), parse_constant=lambda c: 1 / 0) == {
        "a": None, "b": [1.5, None], "c": {"1": 2}}
