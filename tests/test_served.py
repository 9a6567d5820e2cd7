"""The browser tests' own rule: without Chromium they skip and say why, but in CI they fail."""

import pytest
import served


@pytest.fixture
def no_chromium(monkeypatch, tmp_path):
    monkeypatch.setattr(served, "CHROMIUM", tmp_path / "chromium")


def test_without_chromium_the_browser_tests_skip_and_say_why(no_chromium, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing: `make test` installs"):
        with served.chromium():
            pass


def test_without_chromium_the_browser_tests_fail_in_ci(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="browser tests cannot run in CI"):
        with served.chromium():
            pass
