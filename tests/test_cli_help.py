"""Every sub-command's --help ends with examples, and every example is a command line the parser accepts."""

from __future__ import annotations

import shlex

import pytest

from storemood.cli import build_parser
from storemood.cli.examples import EXAMPLES


def _argv(example: str) -> list[str]:
    """The arguments of one example line: no comment, no environment assignment, no pipe or redirection."""
    words = shlex.split(example.split("#")[0].split("|")[0].split(">")[0])
    words = [word for word in words if "=" not in word.split("/")[0] or word.startswith("-")]
    assert words[0] == "storemood"
    return words[1:]


def _subcommands() -> dict:
    parser = build_parser()
    return next(action for action in parser._actions if hasattr(action, "choices") and action.choices).choices


def test_every_subcommand_has_two_or_three_examples_at_the_end_of_its_help():
    for name, parser in _subcommands().items():
        text = parser.format_help()
        assert 2 <= len(EXAMPLES[name]) <= 3
        assert text.rstrip().endswith(EXAMPLES[name][-1].rstrip()), name


@pytest.mark.parametrize("example", [line for lines in EXAMPLES.values() for line in lines])
def test_every_example_parses(example):
    args = build_parser().parse_args(_argv(example))
    assert args.handler is not None
