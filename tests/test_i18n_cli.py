"""The command line's help in Ukrainian and English: every command's ``--help`` (argparse's own words
included) follows ``CIMIC_LANGUAGE`` or ``--lang``; English stays argparse's; a help run in English does
not load Babel."""

from __future__ import annotations

import argparse
import contextvars
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cimic_geo.cli import build_parser, main
from cimic_geo.cli._language import split_language_option
from cimic_geo.i18n import use_language

ROOT = Path(__file__).resolve().parents[1]
CYRILLIC = re.compile(r"[А-Яа-яЄєІіЇїҐґ]")
#: argparse's own English words (Python 3.11).
ARGPARSE_ENGLISH = ("usage:", "options:", "positional arguments:", "show this help message and exit")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path (``("corridor", "eval")`` ...), the top level as ``()``."""
    out = [path]
    for name, sub in _subparsers(parser).items():
        out += _commands(sub, (*path, name))
    return out


def _english_texts(parser: argparse.ArgumentParser) -> set[str]:
    """Every help and description of ``parser`` and its commands (built in English)."""
    texts = {parser.description} if parser.description else set()
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            texts.add(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.help:
                    texts.add(choice.help)
            for sub in action.choices.values():
                texts |= _english_texts(sub)
    return texts


@pytest.fixture(scope="module")
def english() -> tuple[argparse.ArgumentParser, set[str]]:
    with use_language("en"):
        parser = build_parser()
        return parser, _english_texts(parser)


def _run(argv: list[str]) -> int:
    """``main(argv)`` in a fresh context: the language it sets (``--lang``) ends with it, and the setting
    (``CIMIC_LANGUAGE``) is read as in a new process."""
    return contextvars.Context().run(main, argv)


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        _run([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def _command_words(parser: argparse.ArgumentParser) -> set[str]:
    return {name for path in _commands(parser) for name in path}


def _english_lines(text: str, commands: set[str]) -> list[str]:
    """Lines with Latin letters and no Cyrillic, after removing what stays as typed: the program name,
    option flags, metavars (``LAYER``, ``{0,1,2,3}``) and command names."""
    bad = []
    for line in text.splitlines():
        rest = line.replace("python -m cimic_geo", " ")
        rest = re.sub(r"\{[^}]*\}", " ", rest)  # choices
        rest = re.sub(r"(?<![\w-])-{1,2}[A-Za-z][\w-]*", " ", rest)  # flags
        rest = re.sub(r"\b[A-Z][A-Z0-9_]*\b", " ", rest)  # metavars
        rest = " ".join(w for w in re.split(r"[\s\[\]().,|]+", rest) if w and w not in commands)
        if re.search(r"[A-Za-z]", rest) and not CYRILLIC.search(line):
            bad.append(line)
    return bad


def test_every_command_help_is_ukrainian(monkeypatch, capsys, english) -> None:
    parser, texts = english
    assert len(texts) > 120  # the commands' descriptions and option helps
    commands = _command_words(parser)
    paths = _commands(parser)
    assert ("route",) in paths and ("corridor", "evaluate") in paths and ("users", "add") in paths
    monkeypatch.setenv("CIMIC_LANGUAGE", "uk")
    monkeypatch.setenv("COLUMNS", "2000")  # no wrapping: one help text per line
    for path in paths:
        out = _help(list(path), capsys)
        where = " ".join(path) or "(top level)"
        assert out.startswith("використання: python -m cimic_geo"), where
        assert "параметри:" in out and "показати цю довідку й вийти" in out, where
        left = [t for t in (*texts, *ARGPARSE_ENGLISH) if t in out]
        assert not left, f"{where}: English help text {left}"
        assert not _english_lines(out, commands), f"{where}: {_english_lines(out, commands)}"


def test_the_lang_option_wins_over_the_setting_and_is_skipped_when_finding_the_command(monkeypatch, capsys) -> None:
    monkeypatch.setenv("CIMIC_LANGUAGE", "en")
    monkeypatch.setenv("COLUMNS", "2000")
    out = _help(["--lang", "uk", "restoration"], capsys)
    assert "використання: python -m cimic_geo restoration" in out
    assert "черговість ремонту" not in out  # that is the command's line in the list, not its own help
    assert "лише перші N об'єктів" in out
    out = _help(["--lang=en", "restoration"], capsys)
    assert out.startswith("usage: python -m cimic_geo restoration") and "only the first N objects" in out
    assert split_language_option(["--as", "bot", "--lang", "uk", "route", "--lang", "x"]) == (
        "uk", ["--as", "bot", "route", "--lang", "x"])
    assert split_language_option(["--lang=en", "info"]) == ("en", ["info"])


def test_english_help_and_errors_stay_argparse_english(monkeypatch, capsys, english) -> None:
    _parser, texts = english
    monkeypatch.setenv("CIMIC_LANGUAGE", "en")
    monkeypatch.setenv("COLUMNS", "2000")
    out = _help(["route"], capsys)
    assert out.startswith("usage: python -m cimic_geo route") and "\noptions:\n" in out
    assert "least-risk" not in out  # the route command has no description of its own
    assert "settlement name (English or Ukrainian) or 'lat,lon'" in out and not CYRILLIC.search(out)
    assert "settlement name (English or Ukrainian) or 'lat,lon'" in texts
    with pytest.raises(SystemExit) as exit_info:
        _run(["route"])
    assert exit_info.value.code == 2
    assert "error: the following arguments are required: --from, --to" in capsys.readouterr().err


def test_argparse_errors_in_ukrainian(monkeypatch, capsys) -> None:
    monkeypatch.setenv("CIMIC_LANGUAGE", "uk")
    with pytest.raises(SystemExit) as exit_info:
        _run(["route"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "python -m cimic_geo route: помилка: потрібні такі аргументи: --from, --to" in err
    assert err.startswith("використання:")
    with pytest.raises(SystemExit):
        _run(["route", "--from", "a", "--to", "b", "--alternatives", "9"])
    err = capsys.readouterr().err
    assert "аргумент --alternatives: неприпустиме значення: 9 (оберіть із 0, 1, 2, 3)" in err


def test_a_wrong_language_setting_is_an_error_before_any_help(monkeypatch, capsys) -> None:
    monkeypatch.setenv("CIMIC_LANGUAGE", "fr")
    with pytest.raises(SystemExit) as exit_info:
        _run(["info", "--help"])
    assert exit_info.value.code == 2
    assert "language must be one of en, uk, got 'fr'" in capsys.readouterr().err


def test_english_help_does_not_load_babel() -> None:
    """The catalogue (Babel) is read only for Ukrainian: an English help run stays as light as before."""
    code = ("import sys; from cimic_geo.cli import build_parser; build_parser(['route', '--help']).format_help(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'babel'))")
    env = {**os.environ, "CIMIC_LANGUAGE": "en"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    env["CIMIC_LANGUAGE"] = "uk"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() != "[]"  # the same check sees Babel when the help is Ukrainian
