"""The processor's integration tests share the unit tests' article factory and spaCy pipeline."""

from __future__ import annotations

from tests.unit.processors.conftest import article_factory, nlp_and_aliases, processor

__all__ = ["article_factory", "nlp_and_aliases", "processor"]
