"""The demo is the real bot: if a feature breaks, the demo breaks, and this test with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import demo


@pytest.mark.parametrize("lang", ["fi", "en", "sv"])
async def test_the_demo_day_plays_through(tmp_path: Path, lang: str) -> None:
    lines: list[str] = []
    demo.clean(tmp_path)
    played = await demo.play(lang, tmp_path, lines.append)
    names = sorted(p.name for p in tmp_path.iterdir())  # noqa: ASYNC240 - a test, after the fact
    assert any(n.endswith(".ics") for n in names)
    assert sum(n.endswith(".png") for n in names) == 2  # the QR code and the report chart
    assert any(n.endswith(".xlsx") for n in names) and any(n.endswith(".csv") for n in names)
    transcript = "\n".join(lines)
    assert "✎" in transcript and "⬅" in transcript
    assert all(played.log.by_role[role] for role in ("coordinator", "orderer", "expert"))


def test_python_m_bot_demo_exits_zero(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--lang", "en", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "every step did what it should" in result.stdout
