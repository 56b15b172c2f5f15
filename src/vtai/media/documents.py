"""Uploaded documents → text a model can read: text/code/Markdown/JSON, PDF (pypdf), DOCX (python-docx),
CSV/XLSX (pandas: preview and schema). Parsers run off the event loop; DOCX/XLSX zip directories are checked
before opening (uncompressed total and compression ratio) so a zip bomb is refused without unpacking it.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vtai.errors import InputError
from vtai.media.config import MediaConfig

TEXT_EXTS = {
    "txt", "md", "markdown", "rst", "log", "py", "js", "ts", "tsx", "jsx", "java", "c", "h", "cpp", "hpp", "cs",
    "go", "rs", "rb", "php", "swift", "kt", "scala", "sh", "bash", "zsh", "sql", "html", "htm", "css", "xml",
    "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "r", "lua", "pl", "tex", "csv", "tsv", "json", "jsonl",
    "ipynb", "dockerfile", "makefile", "gitignore",
}
PREVIEW_ROWS = 20


@dataclass(slots=True)
class Extracted:
    name: str
    kind: str
    text: str
    note: str = ""

    def as_prompt(self) -> str:
        note = f"\n[{self.note}]" if self.note else ""
        return f"[Attached file: {self.name} ({self.kind})]\n{self.text}{note}\n[End of {self.name}]"


def file_kind(name: str, mime: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else name.lower()
    if ext == "pdf" or mime == "application/pdf":
        return "pdf"
    if ext == "docx" or mime.endswith("wordprocessingml.document"):
        return "docx"
    if ext in ("xlsx", "xlsm") or mime.endswith("spreadsheetml.sheet"):
        return "xlsx"
    if ext in ("csv", "tsv") or mime in ("text/csv", "text/tab-separated-values"):
        return "csv"
    if ext in ("json", "jsonl", "ipynb") or mime == "application/json":
        return "json"
    if ext in TEXT_EXTS or mime.startswith("text/"):
        return "text"
    return "unknown"


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise InputError(f"'{name}' looks like a binary file, not text; VT.ai reads text, code, PDF, DOCX, "
                         "CSV/XLSX and JSON files.")
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _json_text(data: bytes, name: str) -> str:
    text = _decode(data, name)
    if name.lower().endswith(".jsonl"):
        return text
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except json.JSONDecodeError as exc:
        return f"(not valid JSON: {exc.msg} at line {exc.lineno}; shown as text)\n{text}"


def check_zip(data: bytes, name: str, config: MediaConfig) -> None:
    """Refuse zip containers that would unpack too large or compress suspiciously well (zip bombs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"'{name}' is corrupt: it is not a valid Office (zip) file.") from None
    total = sum(i.file_size for i in infos)
    packed = max(sum(i.compress_size for i in infos), 1)
    limit = config.max_unzipped_mb * 1024 * 1024
    if total > limit or total / packed > config.max_zip_ratio:
        raise InputError(f"'{name}' would unpack to {total / 1e6:,.0f} MB from {len(data) / 1e6:,.2f} MB — it looks "
                         f"like a zip bomb, so it was not opened (limits: {config.max_unzipped_mb:g} MB unpacked, "
                         f"ratio {config.max_zip_ratio:g}).")


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"'{name}' is password-protected; remove the password and upload it again.")
        pages = [f"--- page {i} ---\n{(page.extract_text() or '').strip()}" for i, page in enumerate(reader.pages, 1)]
    except InputError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"'{name}' is a corrupt PDF VT.ai cannot read ({type(exc).__name__}).") from None
    text = "\n".join(pages)
    if not any(p.split("\n", 1)[-1] for p in pages):
        return text + "\n(no extractable text: this PDF may be scanned images)"
    return text


def _docx_text(data: bytes, name: str) -> str:
    import docx

    try:
        doc = docx.Document(io.BytesIO(data))
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"'{name}' is not a readable DOCX file ({type(exc).__name__}).") from None
    lines = [p.text for p in doc.paragraphs if p.text.strip()]
    for t, table in enumerate(doc.tables, 1):
        lines.append(f"--- table {t} ---")
        lines.extend(" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows)
    return "\n".join(lines)


def _frame_summary(frame, label: str) -> str:
    schema = "\n".join(f"- {col}: {dtype}" for col, dtype in frame.dtypes.astype(str).items())
    preview = frame.head(PREVIEW_ROWS).to_csv(index=False)
    return (f"{label}: {len(frame):,} rows × {len(frame.columns)} columns\nColumns (name: type):\n{schema}\n"
            f"First {min(PREVIEW_ROWS, len(frame))} rows (CSV):\n{preview}")


def _table_text(data: bytes, name: str, kind: str) -> str:
    import pandas as pd

    try:
        if kind == "csv":
            sep = "\t" if name.lower().endswith(".tsv") else None
            frames = {"table": pd.read_csv(io.BytesIO(data), sep=sep, engine="python")}
        else:
            frames = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise InputError(f"'{name}' could not be read as a table: {str(exc)[:200]}") from None
    parts = [_frame_summary(frame, f"Sheet '{sheet}'" if kind == "xlsx" else "Table")
             for sheet, frame in frames.items()]
    return "\n\n".join(parts) + "\n(Preview only; ask for an analysis to work on the whole file.)"


def _extract_sync(data: bytes, name: str, kind: str, config: MediaConfig) -> str:
    if kind in ("docx", "xlsx"):
        check_zip(data, name, config)
    readers: dict[str, Callable[[], str]] = {
        "pdf": lambda: _pdf_text(data, name),
        "docx": lambda: _docx_text(data, name),
        "xlsx": lambda: _table_text(data, name, "xlsx"),
        "csv": lambda: _table_text(data, name, "csv"),
        "json": lambda: _json_text(data, name),
        "text": lambda: _decode(data, name),
    }
    return readers[kind]()


def fit_text(text: str, limit: int) -> tuple[str, str]:
    """(text cut to ``limit`` characters, a note saying what was left out)."""
    if len(text) <= limit:
        return text, ""
    head = text[: int(limit * 0.8)]
    tail = text[-(limit - len(head)):]
    left = len(text) - len(head) - len(tail)
    lines_left = text[len(head): len(text) - len(tail)].count("\n")
    note = (f"{left:,} characters (~{lines_left:,} lines) from the middle of the file were left out to fit the "
            f"model's context; the start and the end are shown")
    return f"{head}\n[… {left:,} characters left out …]\n{tail}", note


async def extract_file(path: str | Path, name: str, mime: str, config: MediaConfig) -> Extracted:
    """Read an uploaded file and return its text (fitted to ``config.max_document_chars``)."""
    kind = file_kind(name, mime)
    if kind == "unknown":
        raise InputError(f"'{name}' ({mime}) is not a file type VT.ai reads: text, code, Markdown, JSON, PDF, "
                         "DOCX, CSV or XLSX.")
    data = await asyncio.to_thread(Path(path).read_bytes)
    if not data:
        raise InputError(f"'{name}' is empty (0 bytes).")
    text = await asyncio.to_thread(_extract_sync, data, name, kind, config)
    text, note = fit_text(text, config.max_document_chars)
    return Extracted(name, kind, text, note)
