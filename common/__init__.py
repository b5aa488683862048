"""Seed's ground floor: what every stage shares, importing no stage.

    common.settings    the one `Settings` object (RAG_* variables)
    common.lang        a text's language from its script (ko / zh / en)
    common.sentences   sentences as character spans, per language
    common.tokens      a quick, high-side estimate of embedder tokens

Data flows `ingest -> index -> rag -> eval`, with the shells (`shell/`, `app.py`) above them;
each of those may import from here, and nothing here imports from them.
"""
