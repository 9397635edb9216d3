"""compare's progress output (issue 17, item 4): one bar per stage, in order, never two at once, and
nothing at all with --quiet. Read from the captured stderr of small runs (no timing asserted)."""

import re

import pytest

from ccsolve import compare, warmup

SMALL = ["--n-features", "8", "--n-neurons", "4", "--d-embed", "50", "--steps", "300", "--n-samples", "4096"]
COMPILING = "compiling kernels (first run only)"
STAGES = {COMPILING: "C", "solutions": "S", "train": "T"}


def _stages(err: str) -> str:
    """One letter per stage line of tqdm output (split at carriage returns and newlines), consecutive
    repeats merged; fails on any other output."""
    seq = []
    for seg in re.split(r"[\r\n]", err):
        seg = seg.strip()
        if not seg:
            continue  # tqdm's leave=False clears a finished bar with blanks
        letter = next((v for k, v in STAGES.items() if seg.startswith(k)), None)
        assert letter is not None, f"unexpected progress output {seg!r}"
        if not seq or seq[-1] != letter:
            seq.append(letter)
    return "".join(seq)


def test_quiet_prints_nothing_on_stderr(capsys):
    assert compare.main([*SMALL, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "| trained (300 steps) |" in out


def test_one_bar_per_stage_in_order(capsys):
    assert compare.main(SMALL) == 0
    err = capsys.readouterr().err
    assert "\x1b[A" not in err, "a bar was drawn below another (nested bars move the cursor up)"
    # the kernels are in the cache after the first test: no compile stage, solutions then training
    assert re.fullmatch(r"C?SC?T", _stages(err)), _stages(err)
    assert "solutions: SNMF (exact)" in err and "solutions: trained" not in err


class _FakeProcess:
    """Stands in for the background compile process: running for the first few polls, then done."""

    def __init__(self, polls=3):
        self.polls = polls

    def poll(self):
        self.polls -= 1
        return None if self.polls >= 0 else 0

    def wait(self):
        return 0

    def terminate(self):
        self.polls = -1


def test_compile_stage_when_the_cache_lacks_kernels(capsys, monkeypatch):
    # as on a first run: every kernel reported missing from the cache (warm then loads them from it),
    # the second process replaced by one that "compiles" for three polls
    monkeypatch.setattr(warmup, "is_cached", lambda name: False)
    started = []

    def fake_background(names):
        started.append(list(names))
        return warmup.Background(names, _FakeProcess())

    monkeypatch.setattr(warmup, "compile_in_background", fake_background)
    assert compare.main(SMALL) == 0
    err = capsys.readouterr().err
    assert "\x1b[A" not in err
    # compile stage first, then the solutions (the exact-objective row waits on the solutions bar), then
    # the trainer's kernel (its own compile stage: loaded here), then training
    assert _stages(err) == "CSCT", _stages(err)
    assert "waiting for its kernels to compile (first run only)" in err
    assert started and started[0][-1] == "sparse_block" and "strata_chunks" not in started[0]
    assert "ETA" not in err and "<" not in err.split("solutions")[0], "the compile stage shows no ETA"


def test_background_wait_returns_when_the_process_ends(monkeypatch):
    monkeypatch.setattr(warmup, "is_cached", lambda name: False)  # a failed compile: never cached
    proc = _FakeProcess(polls=2)
    bg = warmup.Background(["sparse_block"], proc)
    bg.wait(["sparse_block"], progress=False)  # returns once the process has ended
    assert proc.polls < 0 and not bg.running()
    bg.close()


def test_compile_in_background_rejects_unknown_kernels():
    with pytest.raises(ValueError, match="unknown kernel"):
        warmup.compile_in_background(["no_such_kernel"])
