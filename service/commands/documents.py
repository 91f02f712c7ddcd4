"""`tagungsbot documents list|add|remove`: the corpus from the command line (issue 13)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("documents", help="list, add or remove documents of the corpus")
    p.add_subparsers(dest="documents_command", required=True)
