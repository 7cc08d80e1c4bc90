"""Every relative link of README.md, docs/ and experiments/ resolves: to a file or folder of
the repository, and a ``#fragment`` into a Markdown file to one of its headings (GitHub's
anchors)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "experiments").rglob("*.md")]
)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^()\s]+(?:\([^()\s]*\))?)\)")


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code spans."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def links(text: str) -> list[str]:
    """The targets of the Markdown links and images of ``text`` (outside code)."""
    return _LINK.findall(_prose(text))


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Anchors of every heading of a Markdown text (repeats get -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(
        r"^#{1,6} (.+)$", re.sub(r"^```.*?^```", "", text, flags=re.S | re.M), re.M
    ):
        base = anchor(heading)
        n = seen.get(base, 0)
        out.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return out


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The links of ``page`` that do not resolve, with the reason (paths relative to
    ``root``)."""
    bad = []
    for target in links(page.read_text()):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            bad.append(f"{target} (no such file)")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest.read_text()):
            bad.append(f"{target} (no heading #{fragment} in {dest.relative_to(root)})")
    return bad


def test_link_extraction_and_anchors():
    text = (
        "[a](x.md) ![b](fig.png) [c](https://e.org) `[d](code.md)` [e](y.md#two-words)\n"
        "```\n[f](in_fence.md)\n```\n"
    )
    assert links(text) == ["x.md", "fig.png", "https://e.org", "y.md#two-words"]
    assert anchor("4. CompressAI models (`compressai`)") == "4-compressai-models-compressai"
    assert anchors("# A b\n## A b\n```\n# not\n```\n") == {"a-b", "a-b-1"}


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "there.md").write_text("# Here\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#here) [no](missing.md) [bad](there.md#nowhere)\n")
    assert broken_links(page, tmp_path) == [
        "missing.md (no such file)",
        "there.md#nowhere (no heading #nowhere in there.md)",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []
