"""The ``fetch_url`` tool: a web page's main text, fetched safely.

Safety rules, all enforced here (the model chooses the URL, so treat it as hostile):

* ``http``/``https`` only; at most 5 redirects, each checked again.
* No private-network addresses: the host is resolved and *every* address must be public (``is_global``, not
  multicast; IPv4 embedded in IPv6 — mapped, NAT64, 6to4, Teredo — is checked as IPv4). The check runs inside
  the connection itself (a guarded httpcore network backend), and the connection goes to the checked address,
  so DNS rebinding between check and connect cannot slip through. ``ToolConfig.fetch_allow_loopback`` (tests)
  admits loopback only.
* Size cap (``fetch_max_bytes``; declared or streamed, refused beyond it), one overall timeout
  (``fetch_timeout``), text cut at ``fetch_max_chars``. HTML, plain text, JSON, XML and Markdown only.
* No cookies, no proxy from the environment, no credentials sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from vtai.errors import ToolError
from vtai.tools.registry import ToolConfig, ToolContext, tool

MAX_REDIRECTS = 5
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/json",
              "text/xml", "application/xml", "text/csv")
USER_AGENT = "Mozilla/5.0 (compatible; VT.ai fetch_url)"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchRefusedError(ToolError):
    pass


# ---- address policy --------------------------------------------------------------------------------
def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def address_problem(ip: IPAddress, allow_loopback: bool = False) -> str | None:
    """Why ``ip`` may not be fetched, or None when it may."""
    inner = _embedded_v4(ip)
    if inner is not None:
        return address_problem(inner, allow_loopback)
    if allow_loopback and ip.is_loopback:
        return None
    if ip.is_multicast or not ip.is_global:
        return f"{ip} is a private, loopback, link-local or reserved address"
    return None


async def resolve_public(host: str, port: int, allow_loopback: bool = False) -> list[str]:
    """Every address ``host`` resolves to, all checked; raises FetchRefusedError if any is not public."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addrs = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ToolError(f"Could not resolve {host}: {exc}") from exc
        addrs = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not addrs:
        raise ToolError(f"Could not resolve {host}.")
    for ip in addrs:
        problem = address_problem(ip, allow_loopback)
        if problem:
            raise FetchRefusedError(f"Refused to fetch from {host}: {problem}.")
    return [str(ip) for ip in addrs]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host at connect time, then connects to a checked address (no second lookup)."""

    def __init__(self, allow_loopback: bool = False):
        self.allow_loopback = allow_loopback
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for ip in await resolve_public(host, port, self.allow_loopback):
            try:
                return await self.inner.connect_tcp(ip, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"could not connect to {host}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise FetchRefusedError("Unix sockets are not allowed.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _Stream(httpx.AsyncByteStream):
    def __init__(self, inner: Any):
        self.inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        if hasattr(self.inner, "aclose"):
            await self.inner.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """httpx over an httpcore pool that uses :class:`GuardedBackend` for every connection."""

    def __init__(self, allow_loopback: bool = False):
        self.pool = httpcore.AsyncConnectionPool(ssl_context=httpx.create_ssl_context(),
                                                 network_backend=GuardedBackend(allow_loopback))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise FetchRefusedError(f"Only http(s) URLs can be fetched, not {request.url.scheme}:.")
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions,
        )
        resp = await self.pool.handle_async_request(req)
        return httpx.Response(status_code=resp.status, headers=resp.headers, stream=_Stream(resp.stream),
                              extensions=resp.extensions)

    async def aclose(self) -> None:
        await self.pool.aclose()


# ---- text extraction -------------------------------------------------------------------------------
_SKIP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header", "aside", "form", "iframe",
         "button", "select", "canvas", "head"}
_BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "main", "pre",
          "blockquote", "table", "ul", "ol", "dd", "dt", "figcaption", "hr"}
_MAIN = {"article", "main"}
_SPACE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.all: list[str] = []
        self.main: list[str] = []
        self._skip = 0
        self._main = 0
        self._pre = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _SKIP:
            self._skip += 1
        elif tag in _MAIN:
            self._main += 1
        elif tag == "pre":
            self._pre += 1
        if tag in _BLOCK:
            self._emit("\n")
        if tag in ("h1", "h2", "h3") and not self._skip:
            self._emit("## ")
        elif tag == "li" and not self._skip:
            self._emit("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag in _MAIN and self._main:
            self._main -= 1
        elif tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK and tag != "li":  # list items start on a new line; no blank line between them
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._emit(data if self._pre else _SPACE.sub(" ", data))

    def _emit(self, text: str) -> None:
        if self._skip:
            return
        self.all.append(text)
        if self._main:
            self.main.append(text)


def _tidy(chunks: list[str]) -> str:
    lines = (line.strip() for line in "".join(chunks).splitlines())
    out: list[str] = []
    for line in lines:
        if line in ("", "##", "-"):
            if out and out[-1] != "":
                out.append("")
        else:
            out.append(line)
    return "\n".join(out).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """(title, main text): the <main>/<article> text when it holds most of the page, else the body text,
    without scripts, styles, navigation, headers, footers, asides and forms."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    everything = _tidy(parser.all)
    main = _tidy(parser.main)
    text = main if main and len(main) >= min(200, len(everything) // 3) else everything
    return " ".join(parser.title.split()), text


# ---- fetching --------------------------------------------------------------------------------------
@dataclass(slots=True)
class Page:
    url: str
    title: str
    text: str
    content_type: str
    truncated: bool = False


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefusedError(f"Only http(s) URLs can be fetched, not {parts.scheme or 'a relative URL'}:.")
    if not parts.hostname:
        raise FetchRefusedError("The URL has no host.")
    if parts.username or parts.password:
        raise FetchRefusedError("URLs with credentials are not fetched.")


async def fetch_page(url: str, config: ToolConfig) -> Page:
    check_url(url)
    try:
        async with asyncio.timeout(config.fetch_timeout):
            return await _fetch(url, config)
    except TimeoutError as exc:
        raise ToolError(f"{url} did not answer within {config.fetch_timeout:g} s.") from exc


async def _fetch(url: str, config: ToolConfig) -> Page:
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html, text/plain;q=0.9, */*;q=0.5",
               "Accept-Encoding": "gzip, deflate"}
    transport = GuardedTransport(config.fetch_allow_loopback)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True, max_redirects=MAX_REDIRECTS,
                                 headers=headers, trust_env=False, timeout=config.fetch_timeout) as client:
        try:
            async with client.stream("GET", url) as response:
                return await _read(response, config)
        except httpx.TooManyRedirects as exc:
            raise ToolError(f"{url} redirected more than {MAX_REDIRECTS} times.") from exc
        except httpx.HTTPError as exc:
            raise ToolError(f"Could not fetch {url}: {type(exc).__name__}: {exc}") from exc


async def _read(response: httpx.Response, config: ToolConfig) -> Page:
    final = str(response.url)
    if response.status_code >= 400:
        raise ToolError(f"{final} answered HTTP {response.status_code}.")
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower() or "text/html"
    if not ctype.startswith(TEXT_TYPES):
        raise ToolError(f"{final} is {ctype}, not a text page; fetch_url reads HTML and text only.")
    limit = config.fetch_max_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchRefusedError(f"{final} is {int(declared):,} bytes, over the {limit:,}-byte limit.")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise FetchRefusedError(f"{final} is larger than the {limit:,}-byte limit.")
    raw = bytes(body).decode(response.encoding or "utf-8", errors="replace")
    title, text = html_to_text(raw) if "html" in ctype else ("", raw.strip())
    truncated = len(text) > config.fetch_max_chars
    return Page(final, title, text[: config.fetch_max_chars], ctype, truncated)


@tool
async def fetch_url(ctx: ToolContext, url: str) -> str:
    """Fetch a web page (http or https) and return its main text, without navigation, scripts or ads.

    Args:
        url: the full address, e.g. https://example.com/article.
    """
    page = await fetch_page(url.strip(), ctx.config)
    head = f"# {page.title}\n" if page.title else ""
    tail = f"\n[… cut at {ctx.config.fetch_max_chars} characters]" if page.truncated else ""
    return f"{head}URL: {page.url}\n\n{page.text or '(no text found)'}{tail}"
