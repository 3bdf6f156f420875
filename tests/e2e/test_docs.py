"""The README is a front page, and every relative link in the documentation resolves.

A link resolves when its file (or directory) exists in the repository and, when it names a
`#anchor` in a Markdown file, a heading of that file produces the anchor by GitHub's rules.
External links (http, https, mailto) are not fetched.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
README_MAX_LINES = 200


def documentation_files() -> list[Path]:
    """README.md, docs/*.md and the clients' READMEs."""
    return [
        README,
        *sorted((REPO / "docs").glob("*.md")),
        *sorted((REPO / "clients").glob("*/README.md")),
    ]


FENCE = re.compile(r"^ *(`{3,}|~{3,})")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"  # [text], which may hold one level of brackets
    r"\(\s*<?([^\s<>()]*)>?(?:\s+\"[^\"]*\")?\s*\)"  # (target "optional title")
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*<?(\S+?)>?(?:[ \t].*)?$", re.MULTILINE)
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, …
LINE_ANCHOR = re.compile(r"^L\d+(?:-L\d+)?$")


def prose_lines(text: str) -> Iterator[str]:
    """The lines outside fenced code blocks; fenced lines come out empty."""
    fence: str | None = None
    for line in text.splitlines():
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
            yield ""
        elif fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            yield ""
        else:
            yield line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, punctuation dropped except
    hyphens, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    """Every anchor a Markdown file's headings (and HTML anchors) produce."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(markdown.read_text(encoding="utf-8")):
        heading = ATX_HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(HTML_ANCHOR.findall(line))
    return found


def link_targets(markdown: Path) -> list[str]:
    """The targets of a Markdown file's links, images and reference definitions, outside
    code blocks and code spans."""
    prose = "\n".join(prose_lines(markdown.read_text(encoding="utf-8")))
    targets: list[str] = []
    for paragraph in re.split(r"\n[ \t]*\n", prose):
        paragraph = CODE_SPAN.sub("", paragraph)
        targets += INLINE_LINK.findall(paragraph)
        targets += REFERENCE_DEFINITION.findall(paragraph)
    return targets


@dataclass(frozen=True)
class BrokenLink:
    source: Path
    target: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source.relative_to(REPO)}: ({self.target}) {self.problem}"


def broken_links(markdown: Path) -> list[BrokenLink]:
    """The relative links of one Markdown file that do not resolve."""
    broken: list[BrokenLink] = []
    for target in link_targets(markdown):
        if not target:
            broken.append(BrokenLink(markdown, target, "is empty"))
            continue
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        path_part = unquote(path_part)
        if not path_part:
            linked = markdown
        elif path_part.startswith("/"):
            linked = REPO / path_part.lstrip("/")
        else:
            linked = markdown.parent / path_part
        linked = linked.resolve()
        if not linked.is_relative_to(REPO):
            broken.append(BrokenLink(markdown, target, "points outside the repository"))
        elif not linked.exists():
            broken.append(BrokenLink(markdown, target, f"{linked.relative_to(REPO)} is missing"))
        elif anchor and linked.suffix.lower() == ".md":
            if unquote(anchor) not in anchors(linked):
                broken.append(
                    BrokenLink(
                        markdown,
                        target,
                        f"no heading of {linked.relative_to(REPO)} makes #{anchor}",
                    )
                )
        elif anchor and not LINE_ANCHOR.match(anchor):
            broken.append(BrokenLink(markdown, target, "has an anchor in a non-Markdown file"))
    return broken


def test_the_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()

    assert len(lines) < README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it under {README_MAX_LINES} "
        "and move the detail to docs/"
    )


def test_the_readme_links_into_docs() -> None:
    linked = {
        (README.parent / target.partition("#")[0]).resolve()
        for target in link_targets(README)
        if not EXTERNAL.match(target)
    }

    unlinked = [page.name for page in (REPO / "docs").glob("*.md") if page.resolve() not in linked]
    assert not unlinked, f"docs pages the README does not link to: {unlinked}"


@pytest.mark.parametrize(
    "markdown", documentation_files(), ids=lambda path: str(path.relative_to(REPO))
)
def test_every_relative_link_resolves(markdown: Path) -> None:
    broken = broken_links(markdown)

    assert not broken, "broken links:\n" + "\n".join(map(str, broken))


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "Durable delivery: ack modes, the store, dead letters",
            "durable-delivery-ack-modes-the-store-dead-letters",
        ),
        ("User deletion (GDPR, CCPA)", "user-deletion-gdpr-ccpa"),
        (
            "Sending Heap's flattening example from Python",
            "sending-heaps-flattening-example-from-python",
        ),
        ("More than one core, more than one machine", "more-than-one-core-more-than-one-machine"),
        ("The `send` command", "the-send-command"),
        ("[Linked](https://example.com) heading", "linked-heading"),
        ("snake_case and 1 vs 2", "snake_case-and-1-vs-2"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_broken_link_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path.resolve()
    monkeypatch.setattr(f"{__name__}.REPO", root)
    (root / "docs").mkdir()
    (root / "docs" / "page.md").write_text(
        "# Page\n\n## Part\n\n## Part\n\n```sh\n# not a heading\n[code](missing.md)\n```\n",
        encoding="utf-8",
    )
    readme = root / "README.md"
    readme.write_text(
        "# Front\n\n"
        "[ok](docs/page.md) [ok](docs/page.md#part) [ok](docs/page.md#part-1) [ok](#front)\n"
        "[external](https://example.com/missing) `[code](missing.md)`\n"
        "[gone](docs/gone.md) [no anchor](docs/page.md#not-a-heading)\n"
        "[second duplicate](docs/page.md#part-2)\n\n"
        "[ref]: docs/also-gone.md\n",
        encoding="utf-8",
    )

    found = [(link.target, link.problem.split()[0]) for link in broken_links(readme)]

    assert found == [
        ("docs/gone.md", "docs/gone.md"),
        ("docs/page.md#not-a-heading", "no"),
        ("docs/page.md#part-2", "no"),
        ("docs/also-gone.md", "docs/also-gone.md"),
    ]
