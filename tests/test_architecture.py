"""The package's shape: layers import only downwards, the public namespace is complete and lazy."""

import ast
import pathlib
import subprocess
import sys

import pytest

import ccsolve

PKG = pathlib.Path(ccsolve.__file__).parent

# layer of each top-level part of the package (docs/architecture.md); a module may import its own part
# and any part of a lower layer, never a higher one
LAYERS = {
    "_kernels": 0,
    "core": 1,
    "evaluation": 2,
    "bounds": 2,
    "moments": 2,
    "constructions": 3,
    "training": 3,
    "analysis": 3,
    "residual": 3,
    "optimize": 4,
    "apps": 5,  # sweeps, points, plots; the programs compare and figures sit on top (6)
    "compare": 6,
    "figures": 6,
    "warmup": 2,
}
# the documented exceptions: lazy forwards kept for old import paths (constructions.minimize_exact, ...)
ALLOWED_UPWARD = {("constructions/__init__.py", "ccsolve.optimize.one_hot"),
                  ("constructions/__init__.py", "ccsolve.optimize.exact"),
                  ("constructions/__init__.py", "ccsolve.optimize.parametric")}


def _part(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "ccsolve"
    return parts[1] if len(parts) > 1 else ""


def _imports(path: pathlib.Path):
    """Absolute names of the ccsolve modules `path` imports, anywhere in the file (functions included)."""
    rel = path.relative_to(PKG)
    package = ["ccsolve", *rel.parent.parts]
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("ccsolve"):
                continue
            if node.module is None or mod.count(".") == 0:
                # from . import x / from .. import x: x may be a module
                for alias in node.names:
                    yield f"{mod}.{alias.name}" if alias.name != "__version__" else mod
            else:
                yield mod
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ccsolve"):
                    yield alias.name
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and str(node.args[0].value).startswith("ccsolve"):
                yield node.args[0].value


def _modules():
    return sorted(p for p in PKG.rglob("*.py") if p.name != "__init__.py" or p.parent != PKG)


def _resolve(name: str) -> str:
    """The real module behind a short path (ccsolve.task -> ccsolve.core.task)."""
    short = name.split(".")[1] if name.count(".") >= 1 else ""
    if short in ccsolve._ALIASES:
        return ccsolve._ALIASES[short] + name[len("ccsolve." + short):]
    return name


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_layers_import_only_downwards(path):
    rel = str(path.relative_to(PKG))
    own = rel.split("/")[0].removesuffix(".py")
    assert own in LAYERS, f"{rel}: add its part '{own}' to LAYERS and docs/architecture.md"
    for name in _imports(path):
        target = _part(_resolve(name))
        if target in ("", "__version__"):
            continue  # the package itself (its __version__)
        assert target in LAYERS, f"{rel} imports {name}: unknown part {target!r}"
        if (rel, _resolve(name).rsplit(".", 0)[0]) in ALLOWED_UPWARD or (rel, _resolve(name)) in ALLOWED_UPWARD:
            continue
        if own == "_kernels":
            assert target == "_kernels", f"{rel}: kernels are leaves, but it imports {name}"
        assert target == own or LAYERS[target] < LAYERS[own], (
            f"{rel} (layer {LAYERS[own]}) imports {name} (layer {LAYERS[target]}): imports go downwards only"
        )


def test_internal_modules_use_real_paths_not_aliases():
    """Code inside the package imports modules where they live; the short aliases are for users."""
    for path in _modules():
        for name in _imports(path):
            short = name.split(".")[1] if "." in name else ""
            assert short not in ccsolve._ALIASES, f"{path.relative_to(PKG)} imports alias {name}"


def test_namespace_all_resolves_and_is_lazy():
    code = (
        "import sys, ccsolve\n"
        "heavy = [m for m in ('numba', 'scipy', 'matplotlib', 'cvxpy', 'tqdm') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "for name in ccsolve.__all__:\n"
        "    assert getattr(ccsolve, name) is not None, name\n"
        "assert set(ccsolve.__all__) <= set(dir(ccsolve))\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_every_public_submodule_is_an_attribute_and_every_alias_is_the_real_module():
    import importlib

    for name in ccsolve._SUBMODULES:
        assert getattr(ccsolve, name).__name__ == f"ccsolve.{name}"
    for short, real in ccsolve._ALIASES.items():
        assert importlib.import_module(f"ccsolve.{short}") is importlib.import_module(real)
    # the function and the module no longer share a name
    assert callable(ccsolve.train) and ccsolve.training.train is ccsolve.train


def test_old_import_paths_keep_working():
    from ccsolve.constructions import minimize_exact, minimize_one_hot, snmf
    from ccsolve.exact_objective import ExactObjective
    from ccsolve.loss import loss_per_feature
    from ccsolve.stratified import pair_loss
    from ccsolve.sweep import evaluate_point, make_task, train_point
    from ccsolve.task import Task
    from ccsolve.weights import Weights

    import ccsolve.optimize as opt

    assert minimize_exact is opt.minimize_exact and minimize_one_hot is opt.minimize_one_hot
    assert ExactObjective is opt.ExactObjective and loss_per_feature is ccsolve.loss_per_feature
    assert Task is ccsolve.Task and Weights is ccsolve.Weights and callable(snmf) and callable(pair_loss)
    assert callable(evaluate_point) and callable(make_task) and callable(train_point)


@pytest.mark.parametrize("module", ["constructions", "optimize", "training", "evaluation", "analysis"])
def test_every_name_in_a_public_all_exists(module):
    mod = getattr(ccsolve, module)
    for name in mod.__all__:
        assert hasattr(mod, name), f"ccsolve.{module}.{name}"


def test_every_public_result_follows_the_result_protocol():
    import dataclasses

    from ccsolve.core.results import Result

    classes = [
        ccsolve.LossEstimate, ccsolve.LossCurve, ccsolve.TrainResult, ccsolve.constructions.Summary,
        ccsolve.constructions.SNMFResult, ccsolve.constructions.MinimizeResult,
        ccsolve.constructions.ExactMinimizeResult, ccsolve.stratified.StrataEstimate, ccsolve.sweep.SweepResult,
        ccsolve.analysis.OneHotResponse, ccsolve.analysis.FeatureWeightBars, ccsolve.analysis.EigenAlignment,
        ccsolve.analysis.ProductVsMixing, ccsolve.analysis.NeuronContributions,
    ]
    for cls in classes:
        assert issubclass(cls, Result) and dataclasses.is_dataclass(cls), cls
    solver = [ccsolve.constructions.SNMFResult, ccsolve.constructions.MinimizeResult,
              ccsolve.constructions.ExactMinimizeResult]
    for cls in solver:
        names = {f.name for f in dataclasses.fields(cls)}
        assert {"weights", "objective", "n_iter", "converged", "seconds", "one_hot_loss", "lower_bound",
                "gap"} <= names, cls
