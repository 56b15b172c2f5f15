"""fetch_url: main-text extraction and every refusal (schemes, private addresses, size, redirects, time)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from vtai.errors import ToolError
from vtai.settings import load_settings
from vtai.tools import ToolConfig, ToolContext, execute, load_builtin
from vtai.tools.fetch import FetchRefusedError, address_problem, fetch_page, html_to_text


def config(**settings) -> ToolConfig:
    return ToolConfig.from_settings(load_settings(**settings))


def loopback_ok(**settings) -> ToolConfig:
    """Lets fetch_url reach the loopback fake web server."""
    return config(fetch_allow_loopback=True, **settings)


async def test_reads_main_text_only(fake_web):
    page = await fetch_page(f"{fake_web.url}/article", loopback_ok())
    assert page.title == "The Fox Report" and page.content_type == "text/html"
    assert page.text.startswith("## Quick brown fox\n\n"
                                "The quick brown fox jumps over the lazy dog. & it does so daily.")
    assert "- first point\n- second point" in page.text
    for junk in ("SECRET-TRACKER", "ADVERT", "Copyright footer", "About us", "color:red"):
        assert junk not in page.text
    assert not page.truncated


def test_html_without_main_uses_the_body():
    title, text = html_to_text("<html><head><title> T </title></head><body><nav>menu</nav><p>Hello"
                               "<br>world</p><script>x()</script></body></html>")
    assert (title, text) == ("T", "Hello\nworld")


async def test_plain_text_redirect_and_cut(fake_web):
    page = await fetch_page(f"{fake_web.url}/plain", loopback_ok())
    assert page.text == "just text" and page.content_type == "text/plain"
    page = await fetch_page(f"{fake_web.url}/to-article", loopback_ok())
    assert page.url == f"{fake_web.url}/article" and page.title == "The Fox Report"
    short = await fetch_page(f"{fake_web.url}/article", loopback_ok(fetch_max_chars=40))
    assert len(short.text) == 40 and short.truncated


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)", "gopher://example.com/", "/relative",
    "http:///nohost", "http://user:pw@example.com/",
])
async def test_refuses_non_http_urls(url):
    with pytest.raises(FetchRefusedError):
        await fetch_page(url, loopback_ok())


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "[::1]", "[::ffff:127.0.0.1]", "[fd00::1]", "[fe80::1]", "224.0.0.1",
])
async def test_refuses_private_addresses_by_default(host, fake_web):
    port = fake_web.server_address[1]
    with pytest.raises(FetchRefusedError, match="Refused to fetch"):
        await fetch_page(f"http://{host}:{port}/article", config())
    assert fake_web.requests == []


def test_address_policy():
    ok = ["8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"]
    bad = ["10.0.0.1", "127.0.0.1", "::1", "64:ff9b::a00:1", "2002:a00:1::", "::ffff:10.0.0.1", "224.0.0.1",
           "ff02::1", "198.18.0.1", "240.0.0.1", "255.255.255.255"]
    assert [address_problem(ipaddress.ip_address(a)) for a in ok] == [None] * len(ok)
    assert all(address_problem(ipaddress.ip_address(a)) for a in bad)
    # The loopback allowance (tests only) admits loopback and nothing else.
    assert address_problem(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert address_problem(ipaddress.ip_address("10.0.0.1"), allow_loopback=True)


async def test_every_resolved_address_is_checked_at_connect_time(fake_web, monkeypatch):
    """A name that also resolves to a private address is refused (no 'first address only' check, and the
    lookup happens in the connection itself, so a rebinding answer cannot slip past an earlier check)."""
    port = fake_web.server_address[1]
    loop = asyncio.get_running_loop()
    answers = {"mixed.test": ["127.0.0.1", "10.1.2.3"], "fine.test": ["127.0.0.1"]}

    async def fake_getaddrinfo(host, port_, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port_)) for ip in answers[host]]

    monkeypatch.setattr(loop, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(FetchRefusedError, match="10.1.2.3"):
        await fetch_page(f"http://mixed.test:{port}/article", loopback_ok())
    page = await fetch_page(f"http://fine.test:{port}/article", loopback_ok())
    assert page.title == "The Fox Report"
    assert fake_web.requests[-1]["headers"]["Host"] == f"fine.test:{port}"


@pytest.mark.parametrize(("path", "error"), [
    ("/to-private", "10.0.0.1"), ("/to-metadata", "169.254.169.254"), ("/to-file", "Only http"),
    ("/loop", "redirected more than 5 times"),
])
async def test_redirects_are_checked(fake_web, path, error):
    with pytest.raises(ToolError, match=error):
        await fetch_page(f"{fake_web.url}{path}", loopback_ok())


async def test_size_type_status_and_time_limits(fake_web):
    with pytest.raises(FetchRefusedError, match="52,428,800 bytes"):
        await fetch_page(f"{fake_web.url}/big", loopback_ok())
    with pytest.raises(FetchRefusedError, match="larger than the 1,048,576-byte limit"):
        await fetch_page(f"{fake_web.url}/chunked-big", loopback_ok(fetch_max_bytes=1 << 20))
    with pytest.raises(ToolError, match="image/png, not a text page"):
        await fetch_page(f"{fake_web.url}/image.png", loopback_ok())
    with pytest.raises(ToolError, match="HTTP 404"):
        await fetch_page(f"{fake_web.url}/missing", loopback_ok())
    with pytest.raises(ToolError, match="did not answer within 0.5 s"):
        await fetch_page(f"{fake_web.url}/slow", loopback_ok(fetch_timeout=0.5))


async def test_fetch_url_tool(fake_web):
    tools = load_builtin()
    ctx = ToolContext(load_settings(), "s", {"tool_config": loopback_ok()})
    out = await execute(tools, "fetch_url", {"url": f"{fake_web.url}/article"}, ctx)
    assert not out.is_error and out.text.startswith(f"# The Fox Report\nURL: {fake_web.url}/article\n\n## Quick")
    refused = await execute(tools, "fetch_url", {"url": f"{fake_web.url}/article"},
                            ToolContext(load_settings(), "s"))
    assert refused.is_error and "private, loopback" in refused.text
