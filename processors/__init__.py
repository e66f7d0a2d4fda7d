"""The processor stage: raw articles in, enriched articles out.

``base`` holds the interfaces (:class:`~newswire.processors.base.Enricher`,
:class:`~newswire.processors.base.TopicClassifier`); beside it: ``cleaning`` (boilerplate and name normalisation),
``aliases`` (the editable alias table in ``data/aliases.tsv``), ``entities`` (spaCy NER and canonical entities,
with ``spans``, ``shapes``, ``resolution`` and ``memory`` beside it),
``topics`` (the IPTC topic classifier), ``language`` (py3langid), ``stories`` (events), ``storylines`` (events
linked over weeks, by meaning and shared entities), ``embedding`` (the sentence model behind storylines;
``quantize`` derives its integer form once),
``duplicates``, ``state`` (the grouping shared by all replicas through the bus), ``service`` (the stage) and
``evaluate`` (figures on the labelled sets in ``eval/``). The commands (``newswire process``, ``newswire evaluate``)
are the app's, in ``app/commands/process.py``.
"""
