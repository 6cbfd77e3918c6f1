"""The command line as a person meets it: version, help on every flag, errors in one line, readable output."""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import pytest

from trendlab.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _parsers(parser: argparse.ArgumentParser, path: str = "trendlab"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_every_flag_and_argument_has_help():
    missing = [f"{path}: {a.option_strings or a.dest}" for path, p in _parsers(build_parser()) for a in p._actions
               if not a.help and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]
    assert not missing, missing


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("trendlab ")


def test_a_wrong_flag_shows_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "posts.jsonl", "--out", "x", "--windw", "5m"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("usage: trendlab replay") and "unrecognized arguments: --windw 5m" in err
    with pytest.raises(SystemExit):
        main(["samples", "generate", "--out", "x", "--bogus"])
    assert capsys.readouterr().err.startswith("usage: trendlab samples generate")


def test_a_window_without_unit_is_refused_in_one_line(capsys):
    assert main(["replay", str(ROOT / "data/samples/small/posts.jsonl"), "--window", "10", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--window 10 has no unit" in err and "10m" in err


def test_evaluate_prints_a_summary_and_json_on_request(tmp_path, capsys):
    sample = ROOT / "data" / "samples" / "small"
    assert main(["replay", str(sample / "posts.jsonl"), "--workers", "1", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    args = ["evaluate", "--alerts", str(tmp_path / "alerts.jsonl"), "--labels", str(sample / "labels.json")]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("recall ") and "grouping" in text and "targets:" in text and len(text.splitlines()) <= 9
    assert main(args + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert 0 <= doc["grouping"] <= 1 and doc["per_trend"]
    assert all(len(str(v).split(".")[-1]) <= 4 for v in doc.values() if isinstance(v, float))


def test_samples_generate_writes_gz_when_the_name_says_so(tmp_path):
    assert main(["samples", "generate", "--out", str(tmp_path / "rec.jsonl.gz"), "--hours", "0.05", "--rate", "2",
                 "-q"]) == 0
    with gzip.open(tmp_path / "rec.jsonl.gz", "rt") as fh:
        assert json.loads(fh.readline())["kind"]
    assert json.loads((tmp_path / "rec.labels.json").read_text())["trends"] is not None
