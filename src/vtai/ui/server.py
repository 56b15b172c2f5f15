"""``vtai serve``: one ASGI app — the HTTP API first, then the Chainlit UI — served by uvicorn."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import shutil
import socket
from importlib import resources
from pathlib import Path

import click

from vtai.app import Runtime, build_runtime
from vtai.errors import UserError
from vtai.settings import Settings

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_THIRD_PARTY = re.compile(
    r'<link[^>]*(fonts\.googleapis\.com|fonts\.gstatic\.com|cdn\.jsdelivr\.net)[^>]*/?>', re.DOTALL
)


def check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"Port {port} on {host} is already in use. Stop the other program or pass "
                                f"--port (e.g. `vtai serve --port {port + 1}`).") from None
            raise UserError(f"Cannot listen on {host}:{port}: {exc.strerror}") from None


def prepare_chainlit_root(settings: Settings) -> Path:
    """Chainlit reads its config from CHAINLIT_APP_ROOT: write ours there (origins, limits, no CDN fonts)."""
    root = settings.home / "chainlit"
    (root / ".chainlit").mkdir(parents=True, exist_ok=True)
    public = root / "public"
    public.mkdir(exist_ok=True)
    for name in ("vtai.css", "theme.json"):
        src = resources.files("vtai.ui").joinpath("public", name)
        shutil.copyfile(str(src), public / name)
    os.environ["CHAINLIT_APP_ROOT"] = str(root)
    from chainlit.config import DEFAULT_CONFIG_STR, reload_config

    origins = settings.cors_origins or [f"http://{h}:{settings.port}" for h in ("127.0.0.1", "localhost")]
    text = (DEFAULT_CONFIG_STR
            .replace('allow_origins = ["*"]', f"allow_origins = {origins!r}".replace("'", '"'))
            .replace('name = "Assistant"', 'name = "VT.ai"')
            .replace("# custom_css = \"/public/test.css\"", 'custom_css = "/public/vtai.css"')
            .replace("max_files = 20", f"max_files = {settings.max_files_per_message}")
            .replace("max_size_mb = 500", f"max_size_mb = {int(settings.max_file_mb)}")
            .replace("# Enable audio features\n    enabled = false", "# Enable audio features\n    enabled = true")
            .replace("edit_message = true", "edit_message = false"))
    (root / ".chainlit" / "config.toml").write_text(text)
    (root / "chainlit.md").write_text("# VT.ai\n\nMultimodal chat with a semantic router.\n")
    reload_config()
    return root


def create_web_app(settings: Settings, runtime: Runtime):
    """The combined ASGI app. Chainlit's app is a process-wide singleton, so call this once per process."""
    from vtai.api import create_router
    from vtai.ui import state

    prepare_chainlit_root(settings)
    import chainlit.server as cl_server
    from chainlit.config import config

    state.RUNTIME = runtime
    import vtai.ui.chainlit_app as cl_app

    cl_app.register_auth(settings)
    config.run.module_name = cl_app.__file__
    config.run.host, config.run.port = settings.host, settings.port
    app = cl_server.app
    api = create_router(runtime)
    api.routes.append(cl_app.files_route())
    # Our routes go before Chainlit's catch-all page route.
    app.router.routes[0:0] = api.routes

    # The page must make no third-party requests: drop Google Fonts and the KaTeX CDN stylesheet
    # (system fonts come from /public/vtai.css; LaTeX rendering is off).
    template = cl_server.get_html_template
    cl_server.get_html_template = lambda root_path: _THIRD_PARTY.sub("", template(root_path))
    return app


def graceful_server_class():
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """On SIGTERM/SIGINT: stop accepting, and interrupt running answers right away (each ends as
        "interrupted" and is stored so) instead of waiting for uvicorn's drain to cancel them."""

        def __init__(self, runtime: Runtime, config: uvicorn.Config):
            super().__init__(config)
            self.runtime = runtime

        def handle_exit(self, sig, frame) -> None:
            aclose = getattr(self.runtime.llm, "aclose", None)
            if aclose is not None and not self.should_exit:
                loop = asyncio.get_running_loop()
                loop.call_soon_threadsafe(lambda: loop.create_task(aclose(timeout=5)))
            super().handle_exit(sig, frame)

    return GracefulServer


def run_server(settings: Settings) -> None:
    import uvicorn

    check_port(settings.host, settings.port)
    if settings.host not in LOOPBACK and settings.auth == "none":
        click.secho(
            f"WARNING: serving on {settings.host} with authentication OFF — anyone who can reach this address can "
            "use your models and keys. Set VTAI_AUTH=password and add users with `vtai users add`.",
            fg="red", bold=True, err=True)
    from vtai.store.auth import ensure_auth_secret

    # Chainlit signs its session tokens with this; generated once and kept in $VTAI_HOME/.env (0600).
    os.environ.setdefault("CHAINLIT_AUTH_SECRET", ensure_auth_secret(settings.home))
    runtime = build_runtime(settings)
    app = create_web_app(settings, runtime)
    click.echo(f"VT.ai {settings.host}:{settings.port} — open http://{settings.host}:{settings.port}", err=True)

    GracefulServer = graceful_server_class()  # noqa: N806 - a class

    async def main() -> None:
        from vtai.store import Store

        store = await Store.from_settings(settings)
        runtime.engine.services["store"] = store
        runtime.closers.insert(0, store.close)
        server = GracefulServer(runtime, uvicorn.Config(app, host=settings.host, port=settings.port,
                                                        log_level="warning", ws="auto", loop="asyncio",
                                                        timeout_graceful_shutdown=10))
        try:
            await server.serve()
        finally:
            await runtime.aclose()

    asyncio.run(main())
