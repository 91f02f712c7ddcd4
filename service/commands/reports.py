"""`tagungsbot report unanswered|feedback`: what the editors' page shows, on the command line (issue 13)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="feedback and unanswered questions recorded by the service")
    p.add_subparsers(dest="report_command", required=True)
