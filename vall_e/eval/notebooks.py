"""Execute the ablation notebooks with parameters (nbclient), as the tests and
``scripts/run_notebooks.py`` do.

A notebook's parameters are the names its cell tagged ``parameters`` assigns (papermill's
convention, so papermill runs them too). ``execute_notebook`` puts a cell tagged
``injected-parameters`` right after it with the new values (replacing one left by an earlier
run, so re-executing a committed notebook does not stack them), runs every cell in a fresh
``python3`` kernel (ipykernel's own spec: no ``jupyter kernelspec install`` needed) and stops
at the first cell that raises.
"""
from __future__ import annotations

import ast
from pathlib import Path

from vall_e.errors import ConfigError

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def _require():
    try:
        import nbclient
        import nbformat
    except ImportError:
        raise ConfigError('running notebooks needs nbclient: pip install -e ".[dev]"') from None
    return nbformat, nbclient


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def parameter_names(notebook) -> list[str]:
    """Names assigned in the notebook's ``parameters`` cell, in order."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and PARAMETERS_TAG in _tags(cell):
            tree = ast.parse(cell.source)
            return [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(t, ast.Name)]
    raise ConfigError("the notebook has no cell tagged 'parameters'")


def inject_parameters(notebook, parameters: dict) -> None:
    """Insert (or replace) the ``injected-parameters`` cell; unknown names are refused."""
    nbformat, _ = _require()
    names = parameter_names(notebook)
    unknown = sorted(set(parameters) - set(names))
    if unknown:
        raise ConfigError(f"unknown notebook parameter(s) {unknown}; this notebook takes {names}")
    notebook.cells = [c for c in notebook.cells if INJECTED_TAG not in _tags(c)]
    if not parameters:
        return
    index = next(i for i, c in enumerate(notebook.cells) if PARAMETERS_TAG in _tags(c))
    source = "# Injected parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    notebook.cells.insert(index + 1, cell)


def execute_notebook(source: str | Path, parameters: dict | None = None,
                     output: str | Path | None = None, cwd: str | Path | None = None,
                     timeout: int = 1800):
    """Run ``source`` with ``parameters`` in a fresh kernel started in ``cwd``; write the
    executed notebook to ``output`` when given (may equal ``source``) and return it.

    A failing cell raises nbclient's ``CellExecutionError`` (its message holds the traceback);
    the partly executed notebook is still written, so the failure can be read in place.
    """
    nbformat, nbclient = _require()
    source = Path(source)
    notebook = nbformat.read(source, as_version=4)
    inject_parameters(notebook, dict(parameters or {}))
    client = nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(cwd or source.parent)}})
    try:
        client.execute()
    finally:
        if output is not None:
            nbformat.write(notebook, Path(output))
    return notebook


def findings(notebook) -> list[str]:
    """The one-line conclusions the notebook displayed with ``vall_e.eval.plots.finding``."""
    from vall_e.eval.plots import FINDING

    found = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/markdown", "")
            if isinstance(text, list):
                text = "".join(text)
            if text.startswith(FINDING):
                found.append(text[len(FINDING):].strip())
    return found
