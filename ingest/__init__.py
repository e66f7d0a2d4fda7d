"""The ingest stage: feed pollers that publish each new article once to ``news.raw``.

base.py        the vocabulary: Feed (config + state), FetchResult, FailureKind
fetch.py       HTTP fetching: concurrency limits, conditional GET, timeouts, size limits, redirects by hand
politeness.py  per-host budgets of fetch starts, and pauses when a host throttles (429, Retry-After, 403 burst)
netguard.py    public addresses only, checked on the address dialled
discovery.py   a site's feeds from its page (``newswire feeds add`` with a page URL)
parse.py       feed bytes to entries with feedparser (no DTDs, bounded entries), entries to Articles
parsepool.py   parsing in worker processes, with a time limit per feed
normalize.py   canonical URLs, HTML to text, dates, languages
fulltext.py    the article page's text (trafilatura) when a feed gives only a summary
dedupe.py      new, changed (revision + 1, saying what changed) or already published; why an entry was dropped
schedule.py    adaptive, bounded, polite intervals and back-off
poll.py        one poll of one feed and the feed's next state
publish.py     publish, flush (the ack), record, write the feed back
directory.py   which feeds this poller owns: its partitions of the compacted feeds topic
state.py       the local state file (SQLite): published articles, feeds cache
opml.py        feed lists: OPML, text files, comma-separated URLs
service.py     run_ingest: the poller loop
websub.py      WebSub: hub discovery, push signatures, subscriptions kept in the state file
websub_agent.py    subscribing, renewing, falling back to polling, pushed bodies to the poll's parser
websub_callback.py the HTTP endpoint hubs verify subscriptions at and push to
websub_hub.py  subscription requests to hubs (public addresses only, bounded)

The commands (`newswire ingest`, `newswire feeds ...`) are the app's: ``app/commands/ingest.py`` and ``feeds.py``.
"""
