"""Language detection reads a sample of the article; the sample must be long enough to overrule a wrong feed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newswire.processors.language import SAMPLE_CHARS, detect_language, is_supported

# One paragraph per language, written for these tests (the end of the mutiny, as a foreign desk would report it).
PARAGRAPHS: dict[str, str] = json.loads((Path(__file__).parent / "data" / "languages.json").read_text("utf-8"))


@pytest.mark.parametrize("code", sorted(PARAGRAPHS))
def test_a_foreign_article_in_an_english_feed_is_recognised_from_the_sample(code):
    text = PARAGRAPHS[code]
    assert len(text) > SAMPLE_CHARS  # the detector sees only the sample, not the whole paragraph
    guess = detect_language(text, "en")
    assert guess.code == code
    assert not is_supported(guess, "en")


def test_an_english_article_in_a_feed_declared_french_gets_english_ner():
    text = (
        "Wagner fighters left Rostov-on-Don overnight after a deal brokered by the Belarusian president, and "
        "residents came out to watch them go. The Kremlin said the criminal case against Yevgeny Prigozhin "
        "would be dropped and that he would leave for Belarus; the fate of his fighters was left unclear."
    )
    guess = detect_language(text, "fr")
    assert guess.code == "en" and is_supported(guess, "en")


def test_without_letters_the_feed_decides():
    assert detect_language("2023 - 06 - 24 ... 17:35", "de-DE").code == "de"
    assert detect_language("", None).code is None
