"""A real headless Chromium (Debian's package at /usr/bin/chromium) driven by Playwright.

Never a downloaded browser: Playwright only drives the system one. Tests skip, saying why, only
where no browser can be had (``.ci/run`` installs it with apt-get).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-domain-reliability",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
    # Chromium still asks for clients2.google.com and update.googleapis.com at start even with
    # the flags above; every name but the loopback ones resolves to nothing, so no request
    # leaves the machine (the network rule: loopback only, in every test).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
)


def need_browser() -> None:
    """Skip the calling test with a clear message when no browser can be driven here."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("no browser driver: pip install -e '.[test]' (playwright)")


@contextlib.asynccontextmanager
async def chromium(extra_flags: Sequence[str] = ()) -> AsyncIterator[Any]:
    """A fresh browser context (new profile directory each time); yields a new page."""
    need_browser()
    from playwright.async_api import async_playwright

    profile = tempfile.mkdtemp(prefix="realtalk-chromium-")
    try:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=[*FLAGS, *extra_flags],
                viewport={"width": 1280, "height": 900},
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                yield page
            finally:
                await context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


async def wait_for_weather_turn(page: Any, timeout_ms: int = 90_000) -> None:
    """Wait until the playground's transcript shows the spoken weather question and the
    scripted reply (the fake microphone's WAV and the weather scenario of the speech tests)."""
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.line.user .text')].some("
        "e => e.textContent.toLowerCase().includes('weather'))",
        timeout=timeout_ms,
    )
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.line.assistant .text')].some("
        "e => e.textContent.includes('sunny'))",
        timeout=timeout_ms,
    )
