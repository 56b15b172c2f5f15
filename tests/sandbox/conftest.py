from __future__ import annotations

import pytest

from vtai.tools.sandbox import BwrapSandbox, SandboxLimits, probe_bwrap

MB = 1 << 20
# Small limits keep the suite fast; memory leaves room for numpy + pandas + matplotlib (~360 MB of address space).
FUNCTIONAL = SandboxLimits(wall_s=10, cpu_s=10, memory_bytes=768 * MB, max_procs=32, file_bytes=16 * MB,
                           output_bytes=64 * 1024, tmp_bytes=16 * MB)
HOSTILE = SandboxLimits(wall_s=3, cpu_s=2, memory_bytes=256 * MB, max_procs=16, file_bytes=16 * MB,
                        output_bytes=64 * 1024, tmp_bytes=16 * MB)


@pytest.fixture(scope="session", autouse=True)
def bwrap_works():
    problem = probe_bwrap()
    assert problem is None, f"the sandbox tests need a working bubblewrap: {problem}"


@pytest.fixture
def vtai_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".env").write_text("OPENAI_API_KEY=sk-test-SECRET-0123456789\n")
    return home


@pytest.fixture
async def sandbox(vtai_home):
    box = BwrapSandbox(vtai_home / "sandbox", FUNCTIONAL)
    yield box
    await box.close()


@pytest.fixture
async def hostile(vtai_home):
    box = BwrapSandbox(vtai_home / "sandbox", HOSTILE)
    yield box
    await box.close()
