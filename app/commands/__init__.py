"""Sub-commands of ``newswire`` that belong to no single stage: services, one-process run, search, subscribe."""
