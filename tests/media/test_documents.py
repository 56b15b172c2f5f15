"""File uploads: text extraction per type, limits, zip bombs, hostile names — through the engine."""

from __future__ import annotations

import io
import zipfile

import pytest

from vtai.errors import InputError
from vtai.events import Done, Error, Status
from vtai.media.config import MediaConfig
from vtai.media.documents import check_zip, extract_file, fit_text
from vtai.media.storage import new_media_path, safe_filename
from vtai.messages import FilePart
from vtai.settings import load_settings

from .conftest import files_under, make_engine, run, user


def pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF with real text (what a word processor's export contains, at its simplest)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def write(tmp_path, name, data: bytes) -> FilePart:
    path = tmp_path / "uploads" / safe_filename(name)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return FilePart(name=name, mime="application/octet-stream", path=str(path), size=len(data))


async def ask_with(tmp_path, text, *parts, **overrides):
    engine, llm = make_engine("chat", **overrides)
    events, conv = await run(engine, user(text, *parts))
    return events, conv, llm


def prompt_of(llm) -> str:
    return llm.requests[-1].messages[-1]["content"]


async def test_text_markdown_code_and_json_enter_the_conversation_with_their_names(tmp_path):
    parts = [write(tmp_path, "notes.md", b"# Plan\nShip on Friday."),
             write(tmp_path, "main.py", b"print('hi')\n"),
             write(tmp_path, "data.json", b'{"a": [1, 2]}')]
    events, conv, llm = await ask_with(tmp_path, "Summarise these", *parts)
    sent = prompt_of(llm)
    assert sent.startswith("Summarise these")
    assert "[Attached file: notes.md (text)]\n# Plan\nShip on Friday." in sent
    assert "[Attached file: main.py (text)]\nprint('hi')" in sent
    assert '"a": [\n    1,' in sent  # JSON pretty-printed
    assert [e.text for e in events if isinstance(e, Status)][0].startswith("Read notes.md (text")
    assert isinstance(events[-1], Done) and not events[-1].interrupted
    assert "Ship on Friday." in conv.messages[0].content


async def test_pdf_text_is_extracted(tmp_path):
    events, _, llm = await ask_with(tmp_path, "What does it say?", write(tmp_path, "report.pdf",
                                                                           pdf_bytes("Quarterly revenue grew")))
    assert "--- page 1 ---\nQuarterly revenue grew" in prompt_of(llm)


async def test_encrypted_and_corrupt_pdfs_get_clear_messages_and_the_chat_goes_on(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf_bytes("secret plans"))))
    writer.encrypt("hunter2")
    buf = io.BytesIO()
    writer.write(buf)
    engine, llm = make_engine("chat")
    events, conv = await run(engine, user("read", write(tmp_path, "locked.pdf", buf.getvalue())))
    assert isinstance(events[0], Error) and "password-protected" in events[0].message
    events, _ = await run(engine, user("read", write(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj garbage")), conv)
    assert isinstance(events[0], Error) and "corrupt PDF" in events[0].message
    events, _ = await run(engine, "still there?", conv)
    assert isinstance(events[-1], Done) and not events[-1].interrupted


async def test_docx_paragraphs_and_tables(tmp_path):
    import docx

    doc = docx.Document()
    doc.add_paragraph("Meeting minutes: budget approved.")
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Item", "Cost"
    table.cell(1, 0).text, table.cell(1, 1).text = "Laptop", "1200"
    buf = io.BytesIO()
    doc.save(buf)
    _, _, llm = await ask_with(tmp_path, "summary", write(tmp_path, "minutes.docx", buf.getvalue()))
    sent = prompt_of(llm)
    assert "Meeting minutes: budget approved." in sent and "Laptop | 1200" in sent


async def test_csv_and_xlsx_give_preview_and_schema(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"city": ["Paris", "Oslo", "Lima"], "temp": [21.5, 9.0, 18.25], "rank": [1, 2, 3]})
    buf = io.BytesIO()
    frame.to_excel(buf, index=False, sheet_name="Weather")
    parts = [write(tmp_path, "w.csv", frame.to_csv(index=False).encode()), write(tmp_path, "w.xlsx", buf.getvalue())]
    _, _, llm = await ask_with(tmp_path, "analyse", *parts)
    sent = prompt_of(llm)
    assert "Table: 3 rows × 3 columns" in sent and "- temp: float64" in sent and "Oslo,9.0,2" in sent
    assert "Sheet 'Weather': 3 rows × 3 columns" in sent and "- rank: int64" in sent


def zip_bomb(mb: int = 60) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w") as member:
            zero = bytes(1024 * 1024)
            for _ in range(mb):
                member.write(zero)
    return buf.getvalue()


async def test_zip_bomb_disguised_as_docx_or_xlsx_is_refused_unopened(tmp_path):
    bomb = zip_bomb()
    assert len(bomb) < 200_000
    engine, llm = make_engine("chat")
    for name in ("cv.docx", "sheet.xlsx"):
        events, _ = await run(engine, user("read", write(tmp_path, name, bomb)))
        assert isinstance(events[0], Error) and "zip bomb" in events[0].message, events
        assert name in events[0].message
    assert llm.requests == []
    with pytest.raises(InputError, match="not a valid Office"):
        check_zip(b"PK\x03\x04 not really", "x.docx", MediaConfig.from_settings(load_settings()))


async def test_limits_name_the_setting(tmp_path):
    big = write(tmp_path, "big.txt", b"x" * 1_200_000)
    events, _, _ = await ask_with(tmp_path, "read", big, max_file_mb=1)
    assert isinstance(events[0], Error) and "max_file_mb" in events[0].message and "1 MB" in events[0].message
    many = [write(tmp_path, f"f{i}.txt", b"hi") for i in range(3)]
    events, _, _ = await ask_with(tmp_path, "read", *many, max_files_per_message=2)
    assert "max_files_per_message" in events[0].message and "3 files" in events[0].message
    two = [write(tmp_path, f"g{i}.txt", b"y" * 700_000) for i in range(2)]
    events, _, _ = await ask_with(tmp_path, "read", *two, max_total_mb=1)
    assert "max_total_mb" in events[0].message


async def test_empty_binary_and_unknown_files(tmp_path):
    engine, _ = make_engine("chat")
    for part, expected in [(write(tmp_path, "empty.txt", b""), "empty (0 bytes)"),
                           (write(tmp_path, "blob.txt", b"\x00\x01\x02binary"), "binary file"),
                           (write(tmp_path, "setup.exe", b"MZ\x90\x00"), "not a file type VT.ai reads")]:
        events, _ = await run(engine, user("read", part))
        assert isinstance(events[0], Error) and expected in events[0].message, events


async def test_hostile_file_names_are_sanitised_and_nothing_escapes_home(tmp_path, home):
    part = write(tmp_path, "x.md", b"hello")
    part.name = "../../etc/pass\x1bwd\n.md"
    _, _, llm = await ask_with(tmp_path, "read", part)
    sent = prompt_of(llm)
    assert "[Attached file: pass_wd_.md (text)]" in sent and "../" not in sent and "\x1b" not in sent
    assert safe_filename("..\\..\\win.ini") == "win.ini"
    assert safe_filename("\x00\x07") == "file"
    path = new_media_path(home, "../../u", "../t\n", "../../x", "../png")
    assert path.is_relative_to(home.resolve()) and path.parent.name == "t" and path.parent.parent.name == "u"


async def test_long_files_are_cut_with_a_note(tmp_path):
    text = "\n".join(f"line {i}" for i in range(20000))
    extracted = await extract_file(write(tmp_path, "big.log", text.encode()).path, "big.log", "text/plain",
                                   MediaConfig.from_settings(load_settings(max_document_chars=5000)))
    assert len(extracted.text) < 5200 and extracted.text.startswith("line 0\n") and "line 19999" in extracted.text
    assert "left out to fit the model's context" in extracted.note
    assert fit_text("short", 100) == ("short", "")


async def test_uploads_write_nothing_outside_home(tmp_path, home):
    part = write(tmp_path, "a.txt", b"alpha")
    before = set(files_under(tmp_path))
    await ask_with(tmp_path, "read", part)
    new = set(files_under(tmp_path)) - before
    assert all(p.is_relative_to(home) for p in new), new
