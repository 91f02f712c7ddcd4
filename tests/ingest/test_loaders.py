"""Every supported file type becomes clean blocks; bad files fail with a useful message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.cleaning import clean
from ingest.loaders import CorpusScanner, LoadError, discover, load_file

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
    for name in ["a.md", "b.txt", "c.html", "d.pdf", "e.doc", ".versteckt.md", "README.md"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "unter").mkdir()
    (tmp_path / "unter" / "f.md").write_text("x", encoding="utf-8")
    assert [p.name for p in discover(tmp_path)] == ["a.md", "b.txt", "c.html", "d.pdf", "f.md"]


def _skipped(listing) -> dict[str, str]:
    return {item.path: item.reason for item in listing.skipped}


def test_scanner_never_follows_a_symlink_out_of_the_corpus_and_says_why(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    outside = tmp_path / "geheim"
    (corpus / "unter").mkdir(parents=True)
    outside.mkdir()
    (outside / "passwort.txt").write_text("root:x:0:0", encoding="utf-8")
    (corpus / "bericht.md").write_text("# Bericht\n\nText.", encoding="utf-8")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "ordner").symlink_to(outside, target_is_directory=True)
    (corpus / "unter" / "hoch.md").symlink_to("../../geheim/passwort.txt")  # relative, climbs out
    listing = CorpusScanner(corpus).run()
    assert [p.relative_to(corpus).as_posix() for p in listing.files] == ["bericht.md"]
    skipped = _skipped(listing)
    assert "symlink to /etc/passwd, outside the corpus folder" in skipped["passwd.txt"]
    assert "outside the corpus folder" in skipped["ordner"]
    assert "outside the corpus folder" in skipped["unter/hoch.md"]


def test_scanner_reports_loops_broken_links_special_files_and_types(tmp_path: Path) -> None:
    corpus = tmp_path
    (corpus / "a.md").write_text("x", encoding="utf-8")
    (corpus / "schleife.md").symlink_to("schleife2.md")
    (corpus / "schleife2.md").symlink_to("schleife.md")
    (corpus / "weg.md").symlink_to("gibt-es-nicht.md")
    (corpus / "zurueck").symlink_to(".", target_is_directory=True)  # folder loop: the corpus itself
    os.mkfifo(corpus / "rohr.txt")
    (corpus / "tabelle.xlsx").write_bytes(b"PK")
    listing = CorpusScanner(corpus).run()
    assert [p.name for p in listing.files] == ["a.md"]
    skipped = _skipped(listing)
    assert "symlink loop" in skipped["schleife.md"] and "symlink loop" in skipped["schleife2.md"]
    assert "broken symlink" in skipped["weg.md"]
    assert "already read" in skipped["zurueck/"]
    assert "not a regular file" in skipped["rohr.txt"]
    assert "unsupported file type '.xlsx'" in skipped["tabelle.xlsx"]


def test_scanner_follows_links_inside_the_corpus_once(tmp_path: Path) -> None:
    corpus = tmp_path
    (corpus / "echt").mkdir()
    (corpus / "echt" / "b.md").write_text("x", encoding="utf-8")
    (corpus / ".entwurf").mkdir()
    (corpus / ".entwurf" / "c.md").write_text("x", encoding="utf-8")
    (corpus / "alias").symlink_to("echt", target_is_directory=True)  # sorts before "echt": still listed once
    (corpus / "kopie.md").symlink_to("echt/b.md")
    (corpus / "veroeffentlicht.md").symlink_to(".entwurf/c.md")  # inside the corpus, not otherwise listed
    listing = CorpusScanner(corpus).run()
    assert [p.relative_to(corpus).as_posix() for p in listing.files] == ["echt/b.md", "veroeffentlicht.md"]
    skipped = _skipped(listing)
    assert "already read" in skipped["alias/"]
    assert "same file as echt/b.md" in skipped["kopie.md"]
    assert "hidden" in skipped[".entwurf"]


# --- .docx, PDF metadata, event metadata and the editor's corrections (issue 13) -----------


def write_docx(path: Path, title: str | None = None, created=None) -> Path:
    """A Word document as editors write them: Title, German and English heading styles, lists, a table."""
    import datetime as dt

    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.core_properties.created = created or dt.datetime(2026, 1, 5, 9, 0)
    document.add_paragraph("Rückblick auf das Forum Wattenmeer", style="Title")
    document.add_paragraph("Ort: Husum")
    document.add_paragraph("Datum: 12.–13. März 2026")
    document.add_heading("Eröffnung", level=1)
    document.add_paragraph("Die Gastgeberin eröffnete das Forum am Morgen.")
    heading = document.add_paragraph("Workshops")
    heading.style = document.styles.add_style("Überschrift 2", 1)  # a German Word's style name
    document.add_paragraph("Salzwiesen", style="List Bullet")
    document.add_paragraph("Deichbau", style="List Number")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Raum"
    table.rows[0].cells[1].text = "Saal 2"
    document.save(str(path))
    return path


def test_docx_headings_become_sections_lists_items_and_core_properties_metadata(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "forum.docx", title="Forum Wattenmeer 2026")
    loaded = load_file(path, LIMIT)
    assert loaded.title == "Forum Wattenmeer 2026"
    assert loaded.metadata == {"title": "Forum Wattenmeer 2026", "created": "2026-01-05"}
    kinds = [(b.kind, b.level, b.text) for b in loaded.blocks]
    assert ("heading", 1, "Eröffnung") in kinds
    assert ("heading", 2, "Workshops") in kinds
    assert ("list_item", 0, "• Salzwiesen") in kinds and ("list_item", 0, "• Deichbau") in kinds
    assert ("paragraph", 0, "Raum | Saal 2") in kinds
    doc = clean(loaded, tmp_path, "h")
    assert doc.section_at(doc.text.index("Deichbau")) == "Workshops"
    assert doc.section_at(doc.text.index("Gastgeberin")) == "Eröffnung"


def test_docx_without_title_property_takes_the_title_paragraph(tmp_path: Path) -> None:
    import docx

    path = write_docx(tmp_path / "forum.docx")
    document = docx.Document(str(path))
    assert not document.core_properties.title
    assert load_file(path, LIMIT).title == "Rückblick auf das Forum Wattenmeer"


def test_a_damaged_docx_fails_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "kaputt.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoadError, match="kaputt.docx: the Word document cannot be read.*save it again"):
        load_file(path, LIMIT)


def test_pdf_title_and_creation_date_become_metadata(tmp_path: Path) -> None:
    import datetime as dt

    pdf = FPDF()
    pdf.set_title("Forum Wattenmeer 2026")
    pdf.set_creation_date(dt.datetime(2026, 3, 20, 10, 0, tzinfo=dt.timezone.utc))
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 10, "Das Forum tagte in Husum.")
    pdf.output(str(tmp_path / "forum.pdf"))
    loaded = load_file(tmp_path / "forum.pdf", LIMIT)
    assert loaded.title == "Forum Wattenmeer 2026"
    assert loaded.metadata == {"title": "Forum Wattenmeer 2026", "created": "2026-03-20"}


def test_event_metadata_from_labelled_first_lines_and_the_editors_corrections_win(tmp_path: Path) -> None:
    from ingest.event_metadata import EventMetadata, read_corrections, write_corrections

    path = write_docx(tmp_path / "forum.docx")
    found = EventMetadata().run(load_file(path, LIMIT), {})
    assert found.metadata["place"] == "Husum"
    assert (found.metadata["event_start"], found.metadata["event_end"]) == ("2026-03-12", "2026-03-13")
    write_corrections(path, {"place": "Tönning", "event": "Forum Wattenmeer", "start_date": "2026-03-11"})
    assert (tmp_path / "forum.docx.meta.json").exists()
    corrected = EventMetadata().run(load_file(path, LIMIT), read_corrections(path))
    assert corrected.metadata["place"] == "Tönning"
    assert corrected.metadata["event"] == "Forum Wattenmeer"
    assert corrected.metadata["event_start"] == "2026-03-11"
    assert corrected.metadata["event_end"] == "2026-03-13"  # not corrected: as read
    write_corrections(path, {})
    assert not (tmp_path / "forum.docx.meta.json").exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("8.–9. Oktober 2025", ("2025-10-08", "2025-10-09")),
    ("08.10.2025", ("2025-10-08", "2025-10-08")),
    ("30. September – 1. Oktober 2025", ("2025-09-30", "2025-10-01")),
    ("October 8–9, 2025", ("2025-10-08", "2025-10-09")),
    ("8–9 October 2025", ("2025-10-08", "2025-10-09")),
    ("2025-10-08 bis 2025-10-09", ("2025-10-08", "2025-10-09")),
    ("ab 9 Uhr", (None, None)),
])
def test_event_dates_in_german_english_and_iso(text: str, expected: tuple) -> None:
    from ingest.event_metadata import event_dates

    assert event_dates(text) == expected


def test_a_broken_sidecar_names_itself_and_the_fix(tmp_path: Path) -> None:
    from ingest.event_metadata import read_corrections

    (tmp_path / "a.md").write_text("# A\n\nText.\n", encoding="utf-8")
    (tmp_path / "a.md.meta.json").write_text('{"start_date": "morgen"}', encoding="utf-8")
    with pytest.raises(LoadError, match=r"a.md.meta.json: the metadata corrections are invalid .*YYYY-MM-DD"):
        read_corrections(tmp_path / "a.md")


def test_scanner_keeps_sidecars_out_of_documents_and_noise_but_reports_orphans(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nText.\n", encoding="utf-8")
    (tmp_path / "a.md.meta.json").write_text('{"place": "Husum"}', encoding="utf-8")
    (tmp_path / "weg.pdf.meta.json").write_text('{"place": "Husum"}', encoding="utf-8")
    listing = CorpusScanner(tmp_path).run()
    assert [p.name for p in listing.files] == ["a.md"]
    assert [(s.path, s.reason) for s in listing.skipped] == [
        ("weg.pdf.meta.json", "metadata corrections of weg.pdf, which is not in the corpus; delete this file"),
    ]
