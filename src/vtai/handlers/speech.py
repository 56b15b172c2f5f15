"""The text-to-speech handler: speak the text the user gives ("say 'good morning'", "read this aloud: …"),
or the previous answer ("read that out loud"). Provider TTS when a speech model is usable, else the offline
voice (see :mod:`vtai.media.speech`). Chat options: ``speech_voice``, ``speech_model`` in ``ChatOptions.extra``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from vtai.engine import Turn
from vtai.errors import InputError
from vtai.events import Audio, Done, Event, Status, TextDelta
from vtai.handlers import handler
from vtai.media.config import media_config
from vtai.media.speech import offline_voice, pick_media_model, synthesize
from vtai.messages import Message

_QUOTED = re.compile(r"[\"“«'‘](.+?)[\"”»'’](?:\s|[.!?]|$)", re.S)
_AFTER_COLON = re.compile(r"^[^:\n]{0,80}:\s*(.+)$", re.S)
_REFERS_BACK = re.compile(r"\b(that|this|it|previous|last|your)\b.{0,20}\b(answer|response|reply|message)?\b|"
                          r"^\s*(read|speak|say)\s+(that|it|this)\b", re.I)
_COMMAND = re.compile(r"^\s*(please\s+)?(say|speak|read(\s+out)?|pronounce|voice|tts)\b[\s,:]*", re.I)


def text_to_speak(turn: Turn) -> str:
    """What to speak: quoted text, text after a colon, else the previous answer, else the message sans command."""
    content = turn.message.content.strip()
    for pattern in (_QUOTED, _AFTER_COLON):
        found = pattern.search(content)
        if found and found.group(1).strip():
            return found.group(1).strip()
    previous = next((m.content for m in reversed(turn.conversation.messages[:-1]) if m.role == "assistant"), "")
    if previous and _REFERS_BACK.search(content):
        return previous
    spoken = _COMMAND.sub("", content).strip()
    spoken = re.sub(r"\b(aloud|out loud)\b[.!]?\s*$", "", spoken, flags=re.I).strip()
    if not spoken:
        raise InputError("Tell me what to say, e.g. `say \"good morning\"`, or ask me to read the last answer.")
    return spoken


@handler("speech", needs="speech")
async def speech(turn: Turn) -> AsyncIterator[Event]:
    config = media_config(turn.engine)
    text = text_to_speak(turn)
    extra = turn.options.extra
    wanted = extra.get("speech_model") or (turn.model if turn.model.can("speech") else None)
    model = pick_media_model(turn.engine.catalogue, turn.settings, "speech", wanted or config.speech_model or None)
    if model is None:
        voice = offline_voice()
        yield Status(f"Speaking with the offline voice ({voice[0] if voice else 'none installed'}).")
    path = await synthesize(text, turn.settings, turn.llm, voice=extra.get("speech_voice"), model=model,
                            user_id=turn.conversation.user_id, thread_id=turn.conversation.id,
                            catalogue=turn.engine.catalogue, config=config)
    yield Audio(str(path), "audio/wav")
    note = f"Spoken ({len(text):,} characters) with {model.id if model else 'the offline voice'}."
    yield TextDelta(note)
    turn.conversation.add(Message.text("assistant", note))
    yield Done(model=model.id if model else None)
