import os
import stat

from click.testing import CliRunner

from vtai.cli import main
from vtai.errors import MissingKeyError, mask, redact
from vtai.settings import load_settings


def test_layering_cli_over_env_over_file(vtai_home, monkeypatch):
    vtai_home.mkdir(parents=True)
    (vtai_home / ".env").write_text(
        "VTAI_TEMPERATURE=0.1\nVTAI_PORT=7000\nVTAI_TOP_P=0.5\nOPENAI_API_KEY=sk-file-123456789\n")
    monkeypatch.setenv("VTAI_TEMPERATURE", "0.2")
    s = load_settings(port=9000)
    assert s.temperature == 0.2  # env beats file
    assert s.port == 9000  # CLI beats file
    assert s.top_p == 0.5  # file beats default
    assert s.key_for("openai") == "sk-file-123456789"
    assert s.home == vtai_home


def test_api_key_flag_is_used_not_persisted(vtai_home):
    s = load_settings(api_keys={"anthropic": "sk-ant-flag-999999"})
    assert s.key_for("anthropic") == "sk-ant-flag-999999"
    assert not (vtai_home / ".env").exists()


def test_keys_set_list_remove(vtai_home):
    runner = CliRunner()
    result = runner.invoke(main, ["keys", "set", "openai", "--stdin"], input="sk-proj-abcdefgh12345678\n")
    assert result.exit_code == 0, result.output
    env = vtai_home / ".env"
    assert "OPENAI_API_KEY=sk-proj-abcdefgh12345678" in env.read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert stat.S_IMODE(vtai_home.stat().st_mode) == 0o700

    listed = runner.invoke(main, ["keys", "list"])
    assert "sk-…5678" in listed.output
    assert "sk-proj-abcdefgh12345678" not in listed.output
    assert "abcdefgh" not in listed.output

    # Other lines (e.g. from the original VT.ai's file) survive updates.
    env.write_text(env.read_text() + "GROQ_API_KEY=gsk_keepme1234567890\n")
    runner.invoke(main, ["keys", "set", "openai", "--stdin"], input="sk-new-000011112222\n")
    text = env.read_text()
    assert "sk-new-000011112222" in text and "sk-proj-abcdefgh" not in text and "gsk_keepme" in text

    removed = runner.invoke(main, ["keys", "remove", "openai"])
    assert removed.exit_code == 0
    assert "OPENAI_API_KEY" not in env.read_text()
    assert "GROQ_API_KEY" in env.read_text()


def test_keys_set_rejects_unknown_provider_and_bad_key(vtai_home):
    runner = CliRunner()
    result = runner.invoke(main, ["keys", "set", "nosuch", "--stdin"], input="sk-abc\n")
    assert result.exit_code == 1
    assert "Unknown provider 'nosuch'" in result.output
    result = runner.invoke(main, ["keys", "set", "openai", "--stdin"], input="\n")
    assert result.exit_code == 1 and "empty" in result.output


def test_redaction_hides_keys():
    assert mask("sk-proj-abcdef1234") == "sk-…1234"
    text = redact("failed with key sk-proj-abcdefghijklmnop and Bearer abcdefghijklmnopqrstuvwxyz")
    assert "abcdefghijklmnop" not in text and "sk-…mnop" in text
    err = MissingKeyError("anthropic", "ANTHROPIC_API_KEY", "claude-sonnet-4-5")
    assert "vtai keys set anthropic" in str(err) and "ANTHROPIC_API_KEY" in str(err)


def test_env_file_is_not_world_readable_after_set(vtai_home):
    CliRunner().invoke(main, ["keys", "set", "tavily", "--stdin"], input="tvly-abcdefgh123\n")
    assert os.stat(vtai_home / ".env").st_mode & 0o077 == 0
