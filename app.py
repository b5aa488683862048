"""Seed's web UI, started as a script: `python app.py [--host H] [--port P]` is `rag serve`.

    python app.py              # -> http://127.0.0.1:7860 (builds the index on first use)
    python app.py --host 0.0.0.0 --port 8080

The chat itself is `shell/web.py` (handlers) and `shell/ui_view.py` (layout); this file is
the top of the import graph: it imports the shells, and nothing imports it.
"""

from __future__ import annotations

import sys

from shell.cli import main as cli


def main() -> None:
    """Run the `serve` command of the `rag` CLI with this script's arguments."""
    cli(["serve", *sys.argv[1:]], prog_name="app.py")


if __name__ == "__main__":
    main()
