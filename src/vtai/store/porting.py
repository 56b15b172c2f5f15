"""Export a thread (JSON or Markdown) and import threads — ours or ChatGPT's ``conversations.json`` —
in one transaction (a mixin of :class:`vtai.store.Store`).

Imported threads and messages get fresh ids (the original id is kept in metadata), so an import can never
overwrite or join another user's thread.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from vtai.errors import InputError, StoreError

from .models import iso
from .schema import messages, threads

FORMAT = "vtai-threads"
VERSION = 1
MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_IMPORT_MESSAGES = 200_000
ROLES = {"user", "assistant", "system", "tool", "step"}  # step: a Chainlit tool/LLM step


class PortingMixin:
    async def export_thread(self, user_id: str, thread_id: str, format: str = "json") -> str:
        thread = await self.get_thread(user_id, thread_id)
        rows = await self.list_messages(user_id, thread_id)
        if format == "md":
            return _markdown(thread, rows)
        if format != "json":
            raise InputError(f"Unknown export format {format!r}: use json or md")
        doc = {"format": FORMAT, "version": VERSION, "threads": [_thread_doc(thread, rows)]}
        return json.dumps(doc, ensure_ascii=False, indent=2)

    async def import_threads(self, user_id: str, data: str | bytes, *,
                             max_bytes: int = MAX_IMPORT_BYTES) -> list[str]:
        """Import every thread in ``data`` for ``user_id``; all or nothing. Returns the new thread ids."""
        if len(data) > max_bytes:
            raise InputError(f"Import file too large ({len(data) / 1e6:.1f} MB; limit {max_bytes / 1e6:.0f} MB)")
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"Import file is not valid JSON: {exc}") from exc
        parsed = parse_import(doc)
        if sum(len(t["messages"]) for t in parsed) > MAX_IMPORT_MESSAGES:
            raise InputError(f"Import has more than {MAX_IMPORT_MESSAGES} messages")
        if await self.get_user_by_id(user_id) is None:
            raise InputError(f"User {user_id} does not exist")
        try:
            return await self._insert_import(user_id, parsed)
        except (StoreError, IntegrityError) as exc:
            detail = str(exc).strip().splitlines()[0]
            raise StoreError(f"Import failed and nothing was imported: {detail}") from exc

    async def _insert_import(self, user_id: str, parsed: list[dict[str, Any]]) -> list[str]:
        new_ids: list[str] = []
        async with self.tx() as conn:
            for t in parsed:
                tid = str(uuid.uuid4())
                new_ids.append(tid)
                await conn.execute(insert(threads).values(
                    id=tid, user_id=user_id, name=t["name"], created_at=t["created_at"],
                    updated_at=t["updated_at"], metadata=t["metadata"], tags=t["tags"]))
                rows = [{**m, "id": str(uuid.uuid4()), "thread_id": tid, "parent_id": None, "favorite": False}
                        for m in t["messages"]]
                if rows:
                    await conn.execute(insert(messages), rows)
        return new_ids


def parse_import(doc: Any) -> list[dict[str, Any]]:
    """Validate and normalise an import document; raises :class:`InputError` naming the bad spot."""
    if isinstance(doc, dict) and doc.get("format") == FORMAT:
        if doc.get("version") != VERSION:
            raise InputError(f"Unsupported {FORMAT} version {doc.get('version')!r} (expected {VERSION})")
        items = doc.get("threads")
        if not isinstance(items, list):
            raise InputError("Import file: 'threads' must be a list")
        return [_ours(t, i) for i, t in enumerate(items)]
    if isinstance(doc, list) and all(isinstance(c, dict) and "mapping" in c for c in doc):
        return [_chatgpt(c, i) for i, c in enumerate(doc)]
    raise InputError("Unrecognised import file: expected a VT.ai export or ChatGPT's conversations.json")


def _ours(t: Any, i: int) -> dict[str, Any]:
    where = f"thread {i + 1}"
    if not isinstance(t, dict) or not isinstance(t.get("messages"), list):
        raise InputError(f"Import file: {where} has no 'messages' list")
    now = time.time()
    created = _num(t.get("created_at"), now, where)
    msgs = []
    for j, m in enumerate(t["messages"]):
        w = f"{where}, message {j + 1}"
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content", ""), str):
            raise InputError(f"Import file: {w} needs a role ({'/'.join(sorted(ROLES))}) and text content")
        parts = m.get("parts") or []
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise InputError(f"Import file: {w}: 'parts' must be a list of objects")
        status = m.get("status") or "complete"
        if status not in ("complete", "interrupted", "error"):
            raise InputError(f"Import file: {w}: bad status {status!r}")
        usage = m.get("usage") or {}
        msgs.append({"role": m["role"], "content": m.get("content", ""), "parts": parts,
                     "meta": {"imported_id": m.get("id")}, "route": _str(m.get("route")),
                     "model": _str(m.get("model")), "prompt_tokens": _int(usage.get("prompt_tokens")),
                     "completion_tokens": _int(usage.get("completion_tokens")),
                     "cost_usd": _float(usage.get("cost_usd")), "status": status,
                     "created_at": _num(m.get("created_at"), created + j * 1e-3, w)})
    return {"name": _str(t.get("name")), "created_at": created,
            "updated_at": _num(t.get("updated_at"), created, where),
            "metadata": {**(t.get("metadata") if isinstance(t.get("metadata"), dict) else {}),
                         "imported_from": "vtai", "imported_id": t.get("id")},
            "tags": [str(x) for x in t.get("tags") or [] if isinstance(x, str | int)], "messages": msgs}


def _chatgpt(conv: dict, i: int) -> dict[str, Any]:
    where = f"conversation {i + 1}"
    mapping = conv.get("mapping")
    if not isinstance(mapping, dict):
        raise InputError(f"conversations.json: {where} has no 'mapping' object")
    # The shown branch: from current_node up through parents (edited/regenerated branches are skipped).
    node_id = conv.get("current_node") or _last_leaf(mapping)
    chain: list[dict] = []
    seen: set[str] = set()
    while node_id and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            raise InputError(f"conversations.json: {where}: node {node_id!r} is not an object")
        chain.append(node)
        node_id = node.get("parent")
    created = _num(conv.get("create_time"), time.time(), where)
    msgs = []
    for node in reversed(chain):
        m = node.get("message")
        if not isinstance(m, dict):
            continue
        role = (m.get("author") or {}).get("role")
        text = _chatgpt_text(m.get("content"))
        hidden = (m.get("metadata") or {}).get("is_visually_hidden_from_conversation")
        if role not in ("user", "assistant") or not text.strip() or hidden:
            continue
        msgs.append({"role": role, "content": text, "parts": [], "meta": {"imported_id": m.get("id")},
                     "route": None, "model": _str((m.get("metadata") or {}).get("model_slug")),
                     "prompt_tokens": None, "completion_tokens": None, "cost_usd": None, "status": "complete",
                     "created_at": _num(m.get("create_time"), created + len(msgs) * 1e-3, where)})
    return {"name": _str(conv.get("title")), "created_at": created,
            "updated_at": _num(conv.get("update_time"), created, where),
            "metadata": {"imported_from": "chatgpt", "imported_id": conv.get("id") or conv.get("conversation_id")},
            "tags": [], "messages": msgs}


def _chatgpt_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    pieces = []
    for part in content.get("parts") or []:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict) and part.get("content_type") == "image_asset_pointer":
            pieces.append("[image]")
    if not pieces and isinstance(content.get("text"), str):
        pieces.append(content["text"])
    return "\n".join(pieces)


def _last_leaf(mapping: dict) -> str | None:
    leaves = [k for k, v in mapping.items() if isinstance(v, dict) and not v.get("children")]
    return leaves[-1] if leaves else None


def _num(value: Any, default: float, where: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"Import file: {where}: timestamps must be numbers (epoch seconds)")
    return float(value)


def _str(value: Any) -> str | None:
    return str(value)[:255] if value not in (None, "") else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _thread_doc(thread: Any, rows: list) -> dict[str, Any]:
    return {
        "id": thread.id, "name": thread.name, "created_at": thread.created_at, "updated_at": thread.updated_at,
        "metadata": thread.metadata, "tags": thread.tags,
        "messages": [{
            "id": m.id, "role": m.role, "content": m.content, "parts": m.parts, "route": m.route,
            "model": m.model, "status": m.status, "created_at": m.created_at,
            "usage": {"prompt_tokens": m.prompt_tokens, "completion_tokens": m.completion_tokens,
                      "cost_usd": m.cost_usd},
            "feedback": {"value": m.feedback.value, "comment": m.feedback.comment} if m.feedback else None,
        } for m in rows],
    }


def _markdown(thread: Any, rows: list) -> str:
    out = [f"# {thread.name or 'Untitled thread'}", "", f"*Created {iso(thread.created_at)}*", ""]
    for m in rows:
        label = {"user": "You", "assistant": "Assistant"}.get(m.role, m.role.title())
        extra = ", ".join(x for x in (m.model, m.route and f"route {m.route}",
                                      m.status != "complete" and m.status) if x)
        out += [f"## {label}" + (f" ({extra})" if extra else ""), ""]
        for p in m.parts:
            if p.get("kind") == "reasoning":
                out += ["> " + line for line in str(p.get("text", "")).splitlines()] + [""]
        out += [m.content, ""]
        for p in m.parts:
            kind = p.get("kind")
            if kind == "tool_call":
                out += [f"*Tool call `{p.get('name')}`:* `{json.dumps(p.get('arguments'))}`", ""]
            elif kind == "tool_result":
                out += [f"*Tool result `{p.get('name')}`:*", "", "```", str(p.get("output", "")), "```", ""]
            elif kind in ("image", "audio", "file"):
                out += [f"*{kind.title()}: {p.get('name') or p.get('path')}*", ""]
    return "\n".join(out).rstrip() + "\n"
