"""The processor stage: raw articles in, enriched articles out.

``base`` holds the interfaces (:class:`~newswire.processors.base.Enricher`,
:class:`~newswire.processors.base.TopicClassifier`); beside it: ``cleaning`` (boilerplate and name normalisation),
``aliases`` (the editable alias table in ``data/aliases.tsv``), ``entities`` (spaCy NER and canonical entities),
``topics`` (the IPTC topic classifier), ``language`` (py3langid), ``stories`` and ``duplicates`` (grouping shared by
all replicas through the bus), ``service`` (the stage), ``commands`` (``newswire process``, ``newswire evaluate``)
and ``evaluate`` (figures on the labelled sets in ``eval/``).
"""
