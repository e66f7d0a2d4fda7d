#!/usr/bin/env python3
"""Build the demo feeds from the labelled story set.

Reads ``processors/eval/stories.jsonl`` and writes, under ``deploy/demo``:

- ``feeds/<feed>.xml``: one feed per outlet for a subset of the stories (:data:`DEMO_ITEMS`), in the shapes real
  feeds come in: RSS 2.0 with ``content:encoded`` HTML, RSS 2.0 with HTML in the description, RSS 2.0 with plain
  summaries only, Atom 1.0 with text content and Atom 1.0 with XHTML content; dates in several time zones; one item
  without a ``pubDate`` and one with a GUID but no link;
- ``feeds.txt`` and ``feeds.opml``: the feed list for a server on ``http://127.0.0.1:8808/``.

The output depends only on the story set, so running the script twice gives identical bytes; the files are
committed and ``--check`` tells whether they are up to date. Standard library only.

Usage: ``python deploy/demo/build_feeds.py [--check]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Literal, TypedDict
from xml.sax.saxutils import escape, quoteattr

DEMO_DIR = Path(__file__).resolve().parent
REPO_ROOT = DEMO_DIR.parent.parent
STORIES = REPO_ROOT / "processors" / "eval" / "stories.jsonl"
BASE_URL = "http://127.0.0.1:8808"


Shape = Literal["rss-content", "rss-html", "rss-plain", "atom-text", "atom-xhtml"]
"""RSS 2.0 with content:encoded HTML, with HTML in the description, with plain summaries; Atom with text or XHTML."""


class Story(TypedDict):
    """One line of ``stories.jsonl``."""

    id: str
    url: str
    source: str
    feed: str
    published: str
    title: str
    summary: str
    text: str
    authors: list[str]
    categories: list[str]
    story: str
    event: str
    storyline: str
    duplicate_of: str | None


@dataclass(frozen=True)
class FeedSpec:
    """How one outlet's feed is written."""

    slug: str
    title: str
    site: str
    description: str
    language: str
    shape: Shape
    utc_offset_hours: int
    items: tuple[str, ...]
    undated: frozenset[str] = field(default_factory=frozenset)
    linkless: frozenset[str] = field(default_factory=frozenset)

    @property
    def url(self) -> str:
        return f"{BASE_URL}/{self.slug}.xml"

    @property
    def zone(self) -> timezone:
        return timezone(timedelta(hours=self.utc_offset_hours))


DEMO_FEEDS: tuple[FeedSpec, ...] = (
    FeedSpec(
        slug="continental-desk",
        title="Continental Desk",
        site="https://continentaldesk.example/",
        description="Europe and the world, from the Continental Desk newsroom.",
        language="en",
        shape="atom-xhtml",
        utc_offset_hours=2,
        items=("s018", "s046", "s054", "s067", "s077"),
    ),
    FeedSpec(
        slug="daily-ledger",
        title="Daily Ledger",
        site="https://dailyledger.example/",
        description="Markets, business and the economy.",
        language="en-us",
        shape="rss-html",
        utc_offset_hours=-4,
        items=("s011", "s047", "s074", "s075", "s079"),
        undated=frozenset({"s011"}),
    ),
    FeedSpec(
        slug="eastern-wire",
        title="Eastern Wire",
        site="https://easternwire.example/",
        description="Wire copy from the Eastern Wire news agency.",
        language="en",
        shape="atom-text",
        utc_offset_hours=3,
        items=("s001", "s007", "s013", "s019", "s025", "s032", "s049", "s061", "s070", "s076"),
    ),
    FeedSpec(
        slug="harbour-post",
        title="Harbour Post",
        site="https://harbourpost.example/",
        description="News, sport and culture from the Harbour Post.",
        language="en-gb",
        shape="rss-content",
        utc_offset_hours=1,
        items=("s003", "s008", "s015", "s021", "s028", "s040", "s045", "s062", "s072", "s084"),
    ),
    FeedSpec(
        slug="northfield-times",
        title="Northfield Times",
        site="https://northfieldtimes.example/",
        description="Top stories from the Northfield Times.",
        language="en-gb",
        shape="rss-plain",
        utc_offset_hours=0,
        items=("s004", "s010", "s020", "s030", "s064", "s073"),
        linkless=frozenset({"s030"}),
    ),
)
"""The demo feeds, in file-name order, with the stories each one carries."""

DEMO_ITEMS: dict[str, tuple[str, ...]] = {spec.slug: spec.items for spec in DEMO_FEEDS}


def load_stories(path: Path = STORIES) -> list[Story]:
    """The story set, in file order."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def published(story: Story) -> datetime:
    return datetime.fromisoformat(story["published"].replace("Z", "+00:00"))


def paragraphs(story: Story) -> list[str]:
    return story["text"].split("\n\n")


def _html_paragraphs(story: Story) -> str:
    # Credit lines ("Reporting by ...") are set in italics, as outlets print them.
    return "".join(
        f"<p><em>{escape(text)}</em></p>" if text.startswith("Reporting by") else f"<p>{escape(text)}</p>"
        for text in paragraphs(story)
    )


def _cdata(html: str) -> str:
    if "]]>" in html:
        raise ValueError("CDATA section would end early")
    return f"<![CDATA[{html}]]>"


def _rss_date(moment: datetime, spec: FeedSpec) -> str:
    if spec.utc_offset_hours == 0:
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    return format_datetime(moment.astimezone(spec.zone))


def _atom_date(moment: datetime, spec: FeedSpec) -> str:
    return moment.astimezone(spec.zone).isoformat()


def _guid(story: Story, spec: FeedSpec) -> str:
    if spec.shape == "rss-content":
        return f'<guid isPermaLink="true">{escape(story["url"])}</guid>'
    if spec.shape == "rss-html":
        post = int(hashlib.sha256(story["url"].encode()).hexdigest()[:8], 16) % 90000 + 10000
        return f'<guid isPermaLink="false">{escape(spec.site)}?p={post}</guid>'
    return f'<guid isPermaLink="false">urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, story["url"])}</guid>'


def _rss_item(story: Story, spec: FeedSpec) -> list[str]:
    lines = ["    <item>", f"      <title>{escape(story['title'])}</title>"]
    if story["id"] not in spec.linkless:
        lines.append(f"      <link>{escape(story['url'])}</link>")
    lines.append(f"      {_guid(story, spec)}")
    if story["id"] not in spec.undated:
        lines.append(f"      <pubDate>{_rss_date(published(story), spec)}</pubDate>")
    lines += [f"      <dc:creator>{escape(author)}</dc:creator>" for author in story["authors"]]
    lines += [f"      <category>{escape(category)}</category>" for category in story["categories"]]
    if spec.shape == "rss-html":
        html = f"<p><strong>{escape(story['summary'])}</strong></p>{_html_paragraphs(story)}"
        lines.append(f"      <description>{escape(html)}</description>")
    else:
        lines.append(f"      <description>{escape(story['summary'])}</description>")
    if spec.shape == "rss-content":
        slug = story["url"].rstrip("/").rsplit("/", 1)[-1]
        figure = f'<figure><img src="{spec.site}media/{slug}.jpg" alt="" width="1200" height="675"/></figure>'
        lines.append(f"      <content:encoded>{_cdata(figure + _html_paragraphs(story))}</content:encoded>")
    lines.append("    </item>")
    return lines


def render_rss(spec: FeedSpec, stories: Sequence[Story]) -> str:
    """An RSS 2.0 document of ``stories`` (newest first), shaped as ``spec`` says."""
    latest = max(published(story) for story in stories)
    namespaces = [
        'xmlns:atom="http://www.w3.org/2005/Atom"',
        'xmlns:dc="http://purl.org/dc/elements/1.1/"',
    ]
    if spec.shape == "rss-content":
        namespaces.insert(1, 'xmlns:content="http://purl.org/rss/1.0/modules/content/"')
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<rss version="2.0" {" ".join(namespaces)}>',
        "  <channel>",
        f"    <title>{escape(spec.title)}</title>",
        f"    <link>{escape(spec.site)}</link>",
        f"    <description>{escape(spec.description)}</description>",
        f"    <language>{spec.language}</language>",
        f'    <atom:link href={quoteattr(spec.url)} rel="self" type="application/rss+xml"/>',
        f"    <lastBuildDate>{_rss_date(latest, spec)}</lastBuildDate>",
        "    <ttl>15</ttl>",
    ]
    for story in stories:
        lines += _rss_item(story, spec)
    lines += ["  </channel>", "</rss>"]
    return "\n".join(lines) + "\n"


def _atom_entry(story: Story, spec: FeedSpec) -> list[str]:
    moment = _atom_date(published(story), spec)
    if spec.shape == "atom-text":
        day = story["published"][:10]
        slug = story["url"].rstrip("/").rsplit("/", 1)[-1]
        entry_id = f"tag:{spec.site.split('/')[2]},{day}:wire/{slug}"
        summary = f'<summary type="text">{escape(story["summary"])}</summary>'
        content = f'<content type="text">{escape(story["text"])}</content>'
    else:
        entry_id = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, story['url'])}"
        summary = f'<summary type="html">{escape("<p>" + escape(story["summary"]) + "</p>")}</summary>'
        xhtml = _html_paragraphs(story)
        content = f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{xhtml}</div></content>'
    lines = [
        "  <entry>",
        f"    <title>{escape(story['title'])}</title>",
        f'    <link rel="alternate" type="text/html" href={quoteattr(story["url"])}/>',
        f"    <id>{escape(entry_id)}</id>",
        f"    <published>{moment}</published>",
        f"    <updated>{moment}</updated>",
    ]
    lines += [f"    <author><name>{escape(author)}</name></author>" for author in story["authors"]]
    lines += [f"    <category term={quoteattr(category)}/>" for category in story["categories"]]
    lines += [f"    {summary}", f"    {content}", "  </entry>"]
    return lines


def render_atom(spec: FeedSpec, stories: Sequence[Story]) -> str:
    """An Atom 1.0 document of ``stories`` (newest first), shaped as ``spec`` says."""
    latest = max(published(story) for story in stories)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{spec.language}">',
        f"  <title>{escape(spec.title)}</title>",
        f"  <subtitle>{escape(spec.description)}</subtitle>",
        f'  <link rel="alternate" type="text/html" href={quoteattr(spec.site)}/>',
        f'  <link rel="self" type="application/atom+xml" href={quoteattr(spec.url)}/>',
        f"  <id>{escape(spec.site)}</id>",
        f"  <updated>{_atom_date(latest, spec)}</updated>",
    ]
    for story in stories:
        lines += _atom_entry(story, spec)
    lines.append("</feed>")
    return "\n".join(lines) + "\n"


RENDERERS: dict[Shape, Callable[[FeedSpec, Sequence[Story]], str]] = {
    "rss-content": render_rss,
    "rss-html": render_rss,
    "rss-plain": render_rss,
    "atom-text": render_atom,
    "atom-xhtml": render_atom,
}


def render_feed_list() -> str:
    lines = [f"# newswire demo feeds, served from deploy/demo/feeds on {BASE_URL} (see deploy/demo/README.md)"]
    lines += [spec.url for spec in DEMO_FEEDS]
    return "\n".join(lines) + "\n"


def render_opml() -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        "    <title>newswire demo feeds</title>",
        "  </head>",
        "  <body>",
        '    <outline text="Demo outlets" title="Demo outlets">',
    ]
    lines += [
        f'      <outline type="rss" text={quoteattr(spec.title)} title={quoteattr(spec.title)} '
        f"xmlUrl={quoteattr(spec.url)} htmlUrl={quoteattr(spec.site)}/>"
        for spec in DEMO_FEEDS
    ]
    lines += ["    </outline>", "  </body>", "</opml>"]
    return "\n".join(lines) + "\n"


def render(stories: Sequence[Story]) -> dict[str, bytes]:
    """Every generated file, by path relative to ``deploy/demo``, as UTF-8 bytes."""
    by_id = {story["id"]: story for story in stories}
    files: dict[str, str] = {}
    for spec in DEMO_FEEDS:
        missing = [item for item in spec.items if item not in by_id]
        if missing:
            raise KeyError(f"{spec.slug}: stories {', '.join(missing)} are not in the story set")
        wrong_outlet = [item for item in spec.items if by_id[item]["feed"] != spec.slug]
        if wrong_outlet:
            raise ValueError(f"{spec.slug}: stories {', '.join(wrong_outlet)} belong to another outlet")
        items = sorted((by_id[item] for item in spec.items), key=lambda story: (published(story), story["id"]))
        files[f"feeds/{spec.slug}.xml"] = RENDERERS[spec.shape](spec, items[::-1])
    files["feeds.txt"] = render_feed_list()
    files["feeds.opml"] = render_opml()
    return {path: text.encode("utf-8") for path, text in files.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stories", type=Path, default=STORIES, help="the story set (JSON lines)")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="where to write (default: deploy/demo)")
    parser.add_argument("--check", action="store_true", help="only report whether the files are up to date")
    args = parser.parse_args(argv)
    files = render(load_stories(args.stories))
    stale = [
        path
        for path, data in files.items()
        if not (args.out / path).is_file() or (args.out / path).read_bytes() != data
    ]
    if args.check:
        for path in stale:
            print(f"out of date: {args.out / path}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[path])
        print(f"wrote {target} ({len(files[path])} bytes)")
    if not stale:
        print(f"{len(files)} files already up to date in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
