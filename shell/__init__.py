"""Seed's shells: how a person reaches the library, above every stage.

    shell.cli        the `rag` command (ingest, search, ask, eval, config, serve)
    shell.console    what the command prints while it works (progress, answers)
    shell.web        the Gradio chat (`rag serve`, `python app.py`)
    shell.ui_view    the chat's layout and HTML; shell.ui_text its words in ko/zh/en
    shell.question   the checks a typed question passes before anything is loaded

A shell turns input into library calls (`index.build`, `rag.answer`, `eval.run`) and their
results into text; it holds no retrieval, prompt or scoring logic. Nothing below imports it.
"""
