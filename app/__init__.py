"""The app: what a person runs and reads. It assembles the stages (``newswire.ingest``, ``newswire.processors``,
``newswire.indexer``) on the parts :mod:`~newswire.app.parts` chooses, and nothing below imports it.

``cli``         the ``newswire`` command; one module of sub-commands a group in ``commands/``
``parts``       the one rule for embedded or real bus and search store
``pipeline``    the whole pipeline in one process (``newswire run``)
``demo``        the demo feeds served over HTTP on loopback
``api``         the HTTP search API and the search page (``web/``), served by ``newswire serve``
``signals``     the process-wide stop event (SIGTERM, SIGINT) and logging set-up
"""
