"""Execute the ablation notebooks in place, saving their outputs and plots.

    python scripts/run_notebooks.py --model vall_e/assets/default --sentences 8 \\
        --refs runs/corpus/v1/eval_unseen [--only 01 03] [--set n_refs=4 --set smooth=5]

Every option is a notebook parameter, passed to each notebook that takes it (``--set``
reaches the rest, e.g. ``--set model_logs=runs/default/logs``); a ``--set`` name no selected
notebook takes is an error. Notebooks run one after the other in a fresh kernel each; the
first failing cell stops that notebook (its partial outputs are saved, the rest still run)
and the exit status is 1. At the end each notebook's one-line finding is printed.
"""
from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
sys.path.insert(0, str(REPO))  # the checkout's vall_e, installed or not (the kernels start in REPO)


def _value(text: str):
    """A Python literal (``4``, ``None``, ``[0.1, 0.2]``), else the text as a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="checkpoint directory (default: the embedded default model)")
    p.add_argument("--sentences", type=int, dest="n_sentences", help="number of sentences")
    p.add_argument("--sentence-file", dest="sentences",
                   help="text file, or folder of .txt transcripts (default data/eval/sentences.txt)")
    p.add_argument("--refs", help="folder of reference wavs + .txt (default: the shipped voices)")
    p.add_argument("--judges", choices=["whisper", "quick"], help="quick: smoke tests only")
    p.add_argument("--threads", type=int)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="any other notebook parameter (a Python literal or a string)")
    p.add_argument("--only", nargs="+", metavar="PREFIX", help="notebooks whose names start so")
    p.add_argument("--output-dir", help="write executed copies here instead of in place")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    return p


def parameters_from(args: argparse.Namespace) -> dict:
    params = {k: getattr(args, k) for k in ("model", "n_sentences", "sentences", "refs",
                                            "judges", "threads") if getattr(args, k) is not None}
    for item in args.set:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise SystemExit(f"error: --set takes NAME=VALUE, got {item!r}")
        params[name] = _value(text)
    return params


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import nbformat

    from vall_e.eval.notebooks import execute_notebook, findings, parameter_names

    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in args.only)]
    if not paths:
        raise SystemExit(f"error: no notebook in {NOTEBOOKS} matches --only {args.only}")
    params = parameters_from(args)
    taken = {p: set(parameter_names(nbformat.read(p, as_version=4))) for p in paths}
    unused = sorted(set(args_set_names(args)) - set().union(*taken.values()))
    if unused:
        raise SystemExit(f"error: no selected notebook takes {unused}")
    out_dir = Path(args.output_dir) if args.output_dir else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    failed, lines = [], []
    for path in paths:
        mine = {k: v for k, v in params.items() if k in taken[path]}
        start = time.perf_counter()
        print(f"{path.name}: running with {mine}", file=sys.stderr, flush=True)
        try:
            notebook = execute_notebook(path, mine, output=(out_dir or path.parent) / path.name,
                                        cwd=REPO, timeout=args.timeout)
        except Exception as exc:  # nbclient's CellExecutionError carries the traceback
            failed.append(path.name)
            print(f"{path.name}: FAILED\n{str(exc)[-3000:]}", file=sys.stderr)
            continue
        print(f"{path.name}: done in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        lines += [f"{path.stem}: {line}" for line in findings(notebook)]
    print("\n".join(lines))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def args_set_names(args: argparse.Namespace) -> list[str]:
    return [item.partition("=")[0] for item in args.set]


if __name__ == "__main__":
    sys.exit(main())
