"""A scaled demo corpus for benchmarks: the demo articles copied, lightly varied, into many RSS feeds.

Each copy gets its own URL (so its own article id) and a shuffled sentence order, so the NER work per article is the
same as in the demo while no two articles are byte-identical.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser

REPO = Path(__file__).resolve().parent.parent
DEMO_FEEDS = REPO / "deploy" / "demo" / "feeds"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class BenchArticle:
    url: str
    title: str
    summary: str
    content: str
    published: datetime

    @property
    def text(self) -> str:
        return "\n\n".join(part for part in (self.title, self.summary, self.content) if part)


def demo_articles() -> list[BenchArticle]:
    articles = []
    for path in sorted(DEMO_FEEDS.glob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            content = entry.get("content", [{}])[0].get("value", "") if entry.get("content") else ""
            articles.append(
                BenchArticle(
                    url=entry.get("link") or entry.get("id", ""),
                    title=entry.get("title", ""),
                    summary=_TAG.sub(" ", entry.get("summary", "")).strip(),
                    content=_TAG.sub(" ", content).strip(),
                    published=datetime(2023, 6, 24, tzinfo=UTC),
                )
            )
    if not articles:
        raise SystemExit(f"no demo feeds in {DEMO_FEEDS}")
    return articles


def scaled(count: int, seed: int = 2023) -> list[BenchArticle]:
    """``count`` articles made from the demo articles."""
    rng = random.Random(seed)
    base = demo_articles()
    start = datetime(2023, 6, 23, tzinfo=UTC)
    result = []
    for n in range(count):
        article = base[n % len(base)]
        sentences = _SENTENCE.split(article.content) if article.content else []
        rng.shuffle(sentences)
        result.append(
            BenchArticle(
                url=f"https://bench.example/{n // 100}/{n}",
                title=article.title,
                summary=article.summary,
                content=" ".join(sentences),
                published=start + timedelta(seconds=37 * n),
            )
        )
    return result


def write_feeds(articles: list[BenchArticle], folder: Path, per_feed: int = 100) -> list[str]:
    """RSS 2.0 files of ``per_feed`` items each; returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for start in range(0, len(articles), per_feed):
        name = f"bench-{start // per_feed:04d}.xml"
        items = "".join(
            "<item>"
            f"<title>{escape(a.title)}</title><link>{escape(a.url)}</link><guid>{escape(a.url)}</guid>"
            f"<pubDate>{format_datetime(a.published)}</pubDate>"
            f"<description>{escape(a.summary)}</description>"
            f"<content:encoded>{escape(a.content)}</content:encoded>"
            "</item>"
            for a in articles[start : start + per_feed]
        )
        (folder / name).write_text(
            '<?xml version="1.0" encoding="utf-8"?>'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>Bench feed {start // per_feed}</title><link>https://bench.example/</link>"
            f"<description>benchmark</description>{items}</channel></rss>",
            encoding="utf-8",
        )
        names.append(name)
    return names
