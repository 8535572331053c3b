"""The documentation site builds with ``mkdocs build --strict`` (no broken link, anchor or page left
out of the navigation), and every image a page shows exists."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: ![alt](path "title") in Markdown, <img src="path"> in HTML (the pages' and the built site's).
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc=[\"']([^\"']+)[\"']", re.IGNORECASE)


@pytest.fixture(scope="module")
def mkdocs_available() -> None:
    missing = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed (pip install -e '.[dev]' brings mkdocs and mkdocs-material)"
        if os.environ.get("REQUIRE_DOCS"):
            pytest.fail(f"REQUIRE_DOCS=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def site(mkdocs_available: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(site_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return site_dir


def local(target: str) -> str | None:
    """The path part of a link to a file of the site; None for another host or a data: URI."""
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or target.startswith("#"):
        return None
    return unquote(parsed.path)


def test_the_site_builds_strictly(site: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "operators" / "index.html").is_file()
    assert (site / "developers" / "index.html").is_file()


def test_every_image_a_page_references_exists() -> None:
    pages = sorted(DOCS.rglob("*.md"))
    assert pages, "no pages under docs/"
    missing, seen = [], 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in MARKDOWN_IMAGE.findall(text) + HTML_IMAGE.findall(text):
            path = local(target)
            if path is None:
                continue
            seen += 1
            if not (page.parent / path).resolve().is_file():
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert not missing, "images that do not exist:\n" + "\n".join(missing)
    assert seen, "no page shows an image: the pattern above no longer finds them"


def test_every_image_of_the_built_site_is_in_it(site: Path) -> None:
    missing = []
    for html in site.rglob("*.html"):
        for target in HTML_IMAGE.findall(html.read_text(encoding="utf-8")):
            path = local(target)
            if path is not None and not (html.parent / path).resolve().is_file():
                missing.append(f"{html.relative_to(site)}: {target}")
    assert not missing, "images the built pages show but the site does not have:\n" + "\n".join(missing)
