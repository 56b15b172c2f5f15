"""Continuing an answer that broke mid-stream with another model, without repeating what was shown.

The fallback model gets the conversation plus the partial answer as its own (assistant) turn and a short
instruction to continue. Models often echo the tail of the partial answer, or start over; :class:`Splicer`
holds back the first characters of the continuation and cuts such an overlap before anything is shown.
"""

from __future__ import annotations

from typing import Any

CONTINUE_PROMPT = (
    "Your previous reply (above) was cut off by a connection problem. Continue it from exactly where it "
    "stopped: do not repeat any of it, do not mention the interruption, just write the rest."
)
# An echo of the tail must be at least this long to be cut. Shorter repeats are ambiguous: "foxtrot foxtrot"
# may be the text itself (the soak benchmark found exactly that with 8 characters), so they are kept.
MIN_OVERLAP = 12
MIN_OVERLAP_WORDS = 3
PROBE_CHARS = 48  # how much continuation text to hold back before deciding


def continuation_messages(messages: list[dict[str, Any]], partial: str) -> list[dict[str, Any]]:
    return [*messages, {"role": "assistant", "content": partial}, {"role": "user", "content": CONTINUE_PROMPT}]


class Splicer:
    """``feed(text) -> text to show``; ``flush() -> rest`` at the end of the stream."""

    def __init__(self, partial: str):
        self.partial = partial
        self._buf = ""
        self._passing = not partial.strip()

    def feed(self, text: str) -> str:
        if self._passing:
            return text
        self._buf += text
        head = self.partial.lstrip()
        probe = self._buf.lstrip()
        if head.startswith(probe):  # starting over from the beginning: swallow what was already shown
            if len(probe) < len(head):
                return ""
            return self._pass("")
        if probe.startswith(head):  # restarted and went past the partial answer
            return self._pass(probe[len(head):])
        if len(self._buf) < PROBE_CHARS:
            return ""
        return self._pass(self._cut(self._buf))

    def flush(self) -> str:
        if self._passing:
            return ""
        buf = self._buf
        if self.partial.lstrip().startswith(buf.lstrip()):
            buf = ""  # the continuation only repeated (part of) what was shown
        return self._pass(self._cut(buf) if buf else "")

    def _pass(self, text: str) -> str:
        self._passing = True
        self._buf = ""
        return text

    def _cut(self, buf: str) -> str:
        """Drop the longest prefix of ``buf`` that repeats the end of the partial answer."""
        for k in range(min(len(self.partial), len(buf)), MIN_OVERLAP - 1, -1):
            if self.partial.endswith(buf[:k]) and _words(buf[:k]) >= MIN_OVERLAP_WORDS:
                return buf[k:]
        stripped = buf.lstrip()
        for k in range(min(len(self.partial), len(stripped)), MIN_OVERLAP - 1, -1):
            if self.partial.rstrip().endswith(stripped[:k]) and _words(stripped[:k]) >= MIN_OVERLAP_WORDS:
                rest = stripped[k:]
                return rest.lstrip() if self.partial[-1:].isspace() else rest
        return buf


def _words(text: str) -> int:
    return len(text.split())
