"""Low-level HTTP behaviour shared by the fake endpoints: error bodies, waiting that ends when the server
stops, dropping a connection mid-response, and splitting a body around a mid-response fault."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from vtai.testing.replies import Fault

TRANSPORT_KEY = "vtai.fake.transport"
MID_STREAM = frozenset({"stall_mid_stream", "cut_mid_stream", "error_event_mid_stream", "malformed_sse"})
TRUNCATED_JSON = b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"index": 0, "mess'


class ConnectionCut(Exception):
    """Raised only if the ASGI server did not notice the connection we closed (see :func:`cut`)."""


async def wait_or_stop(stopping: asyncio.Event, seconds: float | None) -> bool:
    """Sleep ``seconds`` (None: forever) or until the server stops. True when it stopped."""
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return False
    return True


def close_connection(scope: dict[str, Any], rst: bool) -> None:
    transport = scope.get(TRANSPORT_KEY)
    if transport is None:
        raise ConnectionCut("no transport to close")
    if rst:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger 0: close() sends a TCP RST instead of a FIN. Like a real reset, the peer may lose bytes
            # it had received but not yet read.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()  # flushes what was written, then FIN: the chunked body never terminates


async def cut(scope: dict[str, Any], rst: bool) -> None:
    """Drop the connection from inside a streaming body. Starlette sees the disconnect and cancels the
    stream, so this normally never returns."""
    close_connection(scope, rst)
    await asyncio.sleep(5)
    raise ConnectionCut("connection closed")


def status_response(fault: Fault) -> JSONResponse:
    headers = dict(fault.headers)
    if fault.retry_after is not None:
        headers.setdefault("retry-after", f"{fault.retry_after:g}")
        headers.setdefault("retry-after-ms", str(int(fault.retry_after * 1000)))
    headers.setdefault("x-request-id", "req_fake")
    return JSONResponse(fault.error_body(), status_code=fault.status, headers=headers)


def split_body(fault: Fault, body: bytes, media_type: str, scope: dict[str, Any], stopping: asyncio.Event) -> Response:
    """A complete-looking response whose body breaks halfway: the non-streaming form of the mid-stream
    faults (headers sent, then the connection is cut or stalls)."""
    if fault.kind in ("malformed_sse", "error_event_mid_stream"):
        return Response(TRUNCATED_JSON, media_type="application/json")

    async def body_iter() -> AsyncIterator[bytes]:
        half = max(1, len(body) // 2)
        yield body[:half]
        if fault.kind == "stall_mid_stream":
            stopped = await wait_or_stop(stopping, fault.delay_s)
            if not stopped and fault.then == "continue":
                yield body[half:]
                return
        await cut(scope, fault.rst)

    return StreamingResponse(body_iter(), media_type=media_type)


async def before_response(fault: Fault | None, scope: dict[str, Any], stopping: asyncio.Event) -> Response | None:
    """Faults that strike before any byte is sent. None: go on and answer (maybe with a mid-body fault)."""
    if fault is None:
        return None
    if fault.kind == "status":
        return status_response(fault)
    if fault.kind == "malformed_json":
        return Response(TRUNCATED_JSON, media_type="application/json")
    if fault.kind == "hang_before_first_byte":
        if await wait_or_stop(stopping, fault.delay_s):
            close_connection(scope, rst=False)
            return Response(b"", status_code=503)  # never reaches the client: the connection is closed
    return None
