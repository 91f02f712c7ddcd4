"""Uploads are checked before they touch the corpus: type by content, size, text layer,
filename, duplicates; a refused upload writes nothing. The files are made here: a PDF with
text and one with only an image (fpdf2), a Word document (python-docx), a Windows program
renamed .pdf."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from ingest.uploads import UploadCandidate, UploadCheck, UploadRefused, UploadWriter

LIMIT = 5_000_000

# A made-up event that no bundled document mentions.
EVENT = "Forum Wattenmeer 2026"


def text_pdf(title: str = EVENT, lines: tuple[str, ...] = ()) -> bytes:
    """A PDF with a text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    for line in lines or (
        f"Rueckblick auf das {title}",
        "Ort: Husum",
        "Datum: 12.-13. Maerz 2026",
        "Das Forum wurde von der Deichgraefin Amalie Brodersen eroeffnet.",
    ):
        pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def image_only_pdf() -> bytes:
    """A 'scanned' PDF: one page holding only an image, no text."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("L", (600, 300), 255)
    ImageDraw.Draw(image).rectangle((40, 40, 560, 260), outline=0, width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(buffer, x=10, y=10, w=180)
    return bytes(pdf.output())


def word_document(title: str = EVENT, paragraphs: tuple[str, ...] = ()) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for text in paragraphs or ("Die Workshops leitete Hauke Petersen aus Tönning.",):
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def windows_program() -> bytes:
    """The first bytes of a Windows .exe (MZ header, PE signature), then padding."""
    header = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x80\x00\x00\x00")
    return bytes(header) + b"\x00" * 64 + b"PE\x00\x00" + b"\x00" * 2048


def stage(folder: Path, name: str, data: bytes, index: int = 0) -> UploadCandidate:
    """A file as the upload form stages it: bytes in a temp folder, named with the name's extension."""
    suffix = Path(name.replace("\\", "/")).suffix.lower() or ".bin"
    path = folder / f"upload-{index}{suffix}"
    path.write_bytes(data)
    return UploadCandidate(name, path, len(data), hashlib.sha256(data).hexdigest())


def snapshot(corpus: Path) -> dict[str, str]:
    """Every file below the corpus folder with its hash: what a refused upload must not change."""
    return {p.relative_to(corpus).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(corpus.rglob("*")) if p.is_file()}


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "vorhanden.md").write_text("# Vorhanden\n\nEin Bericht, der schon da ist.\n", encoding="utf-8")
    return folder


@pytest.fixture()
def staging(tmp_path: Path) -> Path:
    folder = tmp_path / "staging"
    folder.mkdir()
    return folder


def check(corpus: Path, candidates: list[UploadCandidate], max_files: int = 20):
    existing = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in corpus.iterdir() if p.is_file()}
    return UploadCheck(corpus, LIMIT, max_files, existing).run(candidates)


def test_a_text_pdf_and_a_docx_are_accepted_with_their_metadata_and_written_atomically(corpus: Path, staging: Path) -> None:
    pdf = text_pdf()
    accepted = check(corpus, [stage(staging, "forum.pdf", pdf, 0), stage(staging, "forum.docx", word_document(), 1)])
    assert [(a.doc_id, a.kind) for a in accepted] == [("forum.pdf", "pdf"), ("forum.docx", "docx")]
    assert accepted[0].title == EVENT
    assert accepted[0].metadata["place"] == "Husum"
    assert accepted[0].metadata["event_start"] == "2026-03-12"
    written = UploadWriter(corpus).run(accepted)
    assert sorted(p.name for p in corpus.iterdir()) == ["forum.docx", "forum.pdf", "vorhanden.md"]  # no temp files left
    assert written[0].read_bytes() == pdf


@pytest.mark.parametrize(("name", "data", "status", "words"), [
    ("bericht.pdf", windows_program(), 415, ["bericht.pdf", "a Windows program", "accepted are PDF"]),
    ("bericht.docx", b"PK\x03\x04" + b"\x00" * 100, 415, ["bericht.docx", "damaged ZIP"]),
    ("notizen.txt", b"\x00\x01\x02binary" * 10, 415, ["notizen.txt", "binary data"]),
    ("programm.exe", b"Hallo", 415, ["programm.exe", "files ending in .exe are not accepted"]),
    ("bericht.pdf", b"# Nur Text\n\nKein PDF.\n", 415, ["the name says a PDF, but the content is text"]),
    ("scan.pdf", None, 422, ["scan.pdf", "no text layer", "OCR"]),
    ("../../etc/passwd", b"root:x:0:0\n", 422, ["'../../etc/passwd'", "path", "bare filename"]),
    ("/etc/passwd.md", b"x\n", 422, ["path"]),
    ("..\\..\\boot.ini.txt", b"x\n", 422, ["path ('/' or '\\')"]),
    (".versteckt.md", b"x\n", 422, ["hidden"]),
    ("nul\x00.md", b"x\n", 422, ["NUL"]),
    ("README.md", b"x\n", 422, ["README"]),
    ("leer.md", b"", 422, ["leer.md", "empty"]),
    ("kopie.md", b"# Vorhanden\n\nEin Bericht, der schon da ist.\n", 409, ["kopie.md", "already in the corpus as vorhanden.md"]),
    ("vorhanden.md", b"# Anders\n\nNeuer Text.\n", 409, ["vorhanden.md", "different document with this name", "delete it first"]),
])
def test_each_bad_upload_is_refused_with_a_clear_message_and_nothing_changes(
    corpus: Path, staging: Path, name: str, data: bytes | None, status: int, words: list[str],
) -> None:
    before = snapshot(corpus)
    good = stage(staging, "gut.docx", word_document(), 0)
    bad = stage(staging, name, image_only_pdf() if data is None else data, 1)
    with pytest.raises(UploadRefused) as refused:
        check(corpus, [good, bad])  # the good file of the same upload is not written either
    assert refused.value.status == status
    for word in words:
        assert word in str(refused.value)
    assert snapshot(corpus) == before


def test_a_file_over_the_size_limit_is_refused_413(corpus: Path, staging: Path) -> None:
    big = stage(staging, "gross.txt", b"Wort " * 10, 0)
    big = UploadCandidate(big.filename, big.staged, LIMIT + 1, big.sha256)
    with pytest.raises(UploadRefused, match=r"gross.txt: 5,000,001 bytes is over the limit of 5,000,000 bytes") as refused:
        check(corpus, [big])
    assert refused.value.status == 413


def test_too_many_files_and_the_same_file_twice_are_refused(corpus: Path, staging: Path) -> None:
    files = [stage(staging, f"f{i}.md", f"# F{i}\n\nText {i}.\n".encode(), i) for i in range(3)]
    with pytest.raises(UploadRefused, match="3 files in one upload; at most 2") as refused:
        check(corpus, files, max_files=2)
    assert refused.value.status == 413
    twice = [stage(staging, "a.md", b"# A\n\nGleich.\n", 0), stage(staging, "b.md", b"# A\n\nGleich.\n", 1)]
    with pytest.raises(UploadRefused, match="b.md: has the same content as a.md in this upload") as refused:
        check(corpus, twice)
    assert refused.value.status == 409


def test_a_name_taken_meanwhile_is_not_overwritten_and_the_upload_is_rolled_back(corpus: Path, staging: Path) -> None:
    accepted = check(corpus, [stage(staging, "a.md", b"# A\n\nEins.\n", 0), stage(staging, "b.md", b"# B\n\nZwei.\n", 1)])
    (corpus / "b.md").write_text("# B von Hand\n", encoding="utf-8")  # appears between check and write
    with pytest.raises(UploadRefused, match="b.md: a document with this name was added to the corpus meanwhile"):
        UploadWriter(corpus).run(accepted)
    assert sorted(p.name for p in corpus.iterdir()) == ["b.md", "vorhanden.md"]  # a.md rolled back, b.md untouched
    assert (corpus / "b.md").read_text(encoding="utf-8") == "# B von Hand\n"
