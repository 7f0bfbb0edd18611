"""Configuration errors name the variable and never print the token or a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import build_application
from bot.settings import SettingsError, load_settings
from tests.harness import TOKEN

ROOT = Path(__file__).resolve().parent.parent


def run_bot(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BOT_TOKEN", "COORDINATOR_IDS", "DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_token_is_named_without_a_traceback(tmp_path: Path) -> None:
    result = run_bot({}, tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_token_is_not_echoed(tmp_path: Path) -> None:
    result = run_bot({"BOT_TOKEN": "secret-looking-but-wrong"}, tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr and "secret-looking-but-wrong" not in result.stderr
    assert "Traceback" not in result.stderr


def test_other_settings_are_checked() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(
            bot_token=TOKEN, coordinator_ids="12, abc", timezone="Mars/Base", _env_file=None
        )
    assert "COORDINATOR_IDS" in str(err.value) and "TIMEZONE" in str(err.value)
    ok = load_settings(bot_token=TOKEN, coordinator_ids="12, 34 56", _env_file=None)
    assert ok.coordinator_ids == [12, 34, 56]
    assert ok.database_url == "sqlite+aiosqlite:///./data/kokemusvalitys.sqlite3"
    assert ok.timezone == "Europe/Helsinki" and ok.default_language == "fi"


def test_the_send_rate_goes_up_to_telegrams_30_and_no_further() -> None:
    assert load_settings(bot_token=TOKEN, _env_file=None).send_rate_per_second == 30
    for wrong in (31, 0, -5):
        with pytest.raises(SettingsError) as err:
            load_settings(bot_token=TOKEN, send_rate_per_second=wrong, _env_file=None)
        assert "SEND_RATE_PER_SECOND" in str(err.value)


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(f"BOT_TOKEN={TOKEN}\nCOORDINATOR_IDS=7\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.delenv("COORDINATOR_IDS", raising=False)
    assert load_settings().coordinator_ids == [7]


def test_self_hosted_bot_api_urls_are_passed_as_given() -> None:
    settings = load_settings(
        bot_token=TOKEN,
        _env_file=None,
        telegram_base_url="http://botapi.local:8081/bot",
        telegram_base_file_url="http://botapi.local:8081/file/bot",
    )
    app = build_application(settings)
    assert app.bot.base_url == f"http://botapi.local:8081/bot{TOKEN}"
    assert app.bot.base_file_url == f"http://botapi.local:8081/file/bot{TOKEN}"


def test_env_example_documents_every_setting() -> None:
    from bot.settings import Settings

    documented = {
        line.split("=")[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z_]+=", line)
    }
    assert documented == {name.upper() for name in Settings.model_fields}


def test_a_copied_env_example_asks_for_the_token(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    result = run_bot({}, tmp_path)
    assert result.returncode == 2 and "BOT_TOKEN is not set" in result.stderr
