"""Reading a PDF back as text, one string per page (poppler's pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def pdf_pages(path: Path) -> list[str]:
    """The text of each page of the PDF at ``path``, whitespace collapsed (``pdftotext -layout``)."""
    if shutil.which("pdftotext") is None:
        from ci_skips import in_ci

        if in_ci():
            pytest.fail("pdftotext (poppler-utils) is needed to read the PDF brief back")
        pytest.skip("pdftotext not installed")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    return [" ".join(p.split()) for p in text.split("\f") if p.strip()]
