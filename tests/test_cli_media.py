"""`vtai chat --attach` and `--speak` over the wire (fake provider)."""

import io
import wave
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from vtai.cli import main
from vtai.testing import Text


def test_attach_image_sends_an_image_part(provider_env, tmp_path):
    img = tmp_path / "red.png"
    Image.new("RGB", (32, 32), "red").save(img)
    provider_env.enqueue(Text("A red square."))
    result = CliRunner().invoke(main, ["chat", "-m", "gpt-4o", "--attach", str(img), "What is in this picture?"])
    assert result.exit_code == 0, result.output
    assert "A red square." in result.output
    content = provider_env.requests_to("chat")[-1].json["messages"][-1]["content"]
    kinds = [p["type"] for p in content]
    assert "image_url" in kinds and content[kinds.index("image_url")]["image_url"]["url"].startswith(
        "data:image/png;base64,")


def test_attach_missing_file_is_a_clear_error():
    result = CliRunner().invoke(main, ["chat", "-m", "gpt-4o", "--attach", "/nope/x.png", "hi"])
    assert result.exit_code != 0
    assert "x.png" in result.output and "Traceback" not in result.output


def test_speak_writes_a_wav_with_the_provider_voice(provider_env, vtai_home):
    provider_env.enqueue(Text("Hello from VT.ai."))
    result = CliRunner().invoke(main, ["chat", "-m", "gpt-4o-mini", "--speak", "greet me"])
    assert result.exit_code == 0, result.output
    path = Path(next(line.split("Saved audio: ", 1)[1] for line in result.output.splitlines()
                     if "Saved audio: " in line).strip())
    assert path.is_file() and vtai_home in path.parents
    with wave.open(io.BytesIO(path.read_bytes())) as w:
        assert w.getnframes() / w.getframerate() > 0.3  # real audio, not an empty file
    assert provider_env.requests_to("speech")[-1].json["input"] == "Hello from VT.ai."
