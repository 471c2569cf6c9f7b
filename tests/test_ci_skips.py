"""The CI rule of tests/ci_skips.py, run on tiny test files with pytest's own ``pytester``."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CASES = '''
import pytest

@pytest.mark.browser
def test_browser_skips():
    pytest.skip("chromium not found")

@pytest.mark.gdal
@pytest.mark.skipif(True, reason="GDAL ogrinfo not installed")
def test_gdal_skipped_by_mark():
    pass

@pytest.mark.netns
def test_netns_runs():
    pass

def test_plain_skip():
    pytest.skip("optional data absent")

@pytest.mark.browser
@pytest.mark.xfail(reason="known")
def test_browser_xfail():
    assert False
'''


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str | None) -> pytest.RunResult:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    pytester.makeconftest("from ci_skips import pytest_runtest_makereport  # noqa: F401\n"
                          "def pytest_configure(config):\n"
                          "    for m in ('browser', 'gdal', 'netns'):\n"
                          "        config.addinivalue_line('markers', m)\n")
    pytester.makepyfile(test_cases=CASES)
    return pytester.runpytest("-p", "no:cacheprovider", "-rA")


def test_in_ci_a_skipped_browser_or_gdal_test_fails(pytester, monkeypatch):
    res = _run(pytester, monkeypatch, "true")
    # a skip in the test body fails the test; a skip mark fails its setup (an error)
    res.assert_outcomes(failed=1, errors=1, passed=1, skipped=1, xfailed=1)
    out = res.stdout.str()
    assert "a browser test may not be skipped in CI: chromium not found" in out
    assert "a gdal test may not be skipped in CI: GDAL ogrinfo not installed" in out


@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_they_skip(pytester, monkeypatch, ci):
    _run(pytester, monkeypatch, ci).assert_outcomes(passed=1, skipped=3, xfailed=1)
