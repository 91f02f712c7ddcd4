"""Every supported file type becomes clean blocks; bad files fail with a useful message."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.cleaning import clean
from ingest.loaders import LoadError, discover, load_file

LIMIT = 1_000_000


def write_pdf(path: Path, pages: list[str], title: str | None = None) -> Path:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for page in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, page)
    pdf.output(str(path))
    return path


def test_markdown_front_matter_becomes_metadata_and_headings_sections(tmp_path: Path) -> None:
    path = tmp_path / "bericht.md"
    path.write_text(
        "---\ntitle: Bericht\nevent_start: 2025-10-08\nlanguage: de\n---\n\n# Bericht\n\nEinleitung.\n\n"
        "## Workshops\n\n- Erster **Workshop**\n- Zweiter [Workshop](http://x)\n\n1. Eins\n2. Zwei\n",
        encoding="utf-8",
    )
    doc = clean(load_file(path, LIMIT), tmp_path, "h")
    assert doc.title == "Bericht"
    assert doc.metadata["event_start"] == "2025-10-08"
    assert doc.text == "Bericht\n\nEinleitung.\n\nWorkshops\n\n• Erster Workshop\n• Zweiter Workshop\n1. Eins\n2. Zwei"
    assert [s.heading for s in doc.sections] == ["Workshops"]
    assert doc.section_at(doc.text.index("Zweiter")) == "Workshops"


def test_html_keeps_main_text_and_drops_navigation_and_scripts(tmp_path: Path) -> None:
    nav = " ".join(f"<li><a href='/{i}'>Menüpunkt {i}</a></li>" for i in range(30))
    body = " ".join(
        f"<p>Absatz {i}: Die Jobcenter stellten auf der Fachtagung ihre Projekte zur Digitalisierung vor.</p>" for i in range(8)
    )
    path = tmp_path / "seite.html"
    path.write_text(
        f"<html><head><title>Tagung</title><script>var x = 'geheim';</script></head><body>"
        f"<nav><ul>{nav}</ul></nav><main><article><h1>Rückblick</h1>{body}</article></main>"
        f"<footer>Impressum Datenschutz</footer></body></html>",
        encoding="utf-8",
    )
    doc = clean(load_file(path, LIMIT), tmp_path, "h")
    assert "Absatz 3: Die Jobcenter" in doc.text
    assert "Menüpunkt" not in doc.text and "geheim" not in doc.text


def test_pdf_text_layer_is_read_with_one_section_per_page(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "doku.pdf", ["Die Fachtagung fand in Berlin statt.", "Königstein präsentierte BAKIRA."], "Dokumentation")
    doc = clean(load_file(path, LIMIT), tmp_path, "h")
    assert doc.title == "Dokumentation"
    assert "Königstein präsentierte BAKIRA." in doc.text
    assert doc.section_at(doc.text.index("Königstein")) == "Seite 2"


def test_plain_text_with_latin1_encoding_is_read_correctly(tmp_path: Path) -> None:
    path = tmp_path / "alt.txt"
    path.write_bytes("Überschrift\n\nDie Qualitätsbeauftragten trafen sich in Düsseldorf, um über Maßnahmen zu sprechen.".encode("latin-1"))
    doc = clean(load_file(path, LIMIT), tmp_path, "h")
    assert "Qualitätsbeauftragten" in doc.text and "Maßnahmen" in doc.text
    assert doc.title == "Überschrift"


def test_binary_file_with_text_suffix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kaputt.txt"
    path.write_bytes(b"\x00\x01\x02binary\x00" * 10)
    with pytest.raises(LoadError, match="binary"):
        load_file(path, LIMIT)


def test_file_over_the_size_limit_is_refused_with_the_setting_to_change(tmp_path: Path) -> None:
    path = tmp_path / "riesig.txt"
    path.write_text("Wort " * 1000, encoding="utf-8")
    with pytest.raises(LoadError, match="TAGUNGSBOT_MAX_FILE_BYTES"):
        load_file(path, 100)


def test_damaged_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "defekt.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n")
    with pytest.raises(LoadError, match="defekt.pdf"):
        load_file(path, LIMIT)


def test_discover_skips_hidden_files_readmes_and_unsupported_types(tmp_path: Path) -> None:
    for name in ["a.md", "b.txt", "c.html", "d.pdf", "e.docx", ".versteckt.md", "README.md"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "unter").mkdir()
    (tmp_path / "unter" / "f.md").write_text("x", encoding="utf-8")
    assert [p.name for p in discover(tmp_path)] == ["a.md", "b.txt", "c.html", "d.pdf", "f.md"]
