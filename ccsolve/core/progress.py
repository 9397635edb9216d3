"""One progress-bar helper for every long computation: a tqdm bar, or a no-op when progress is off."""

from __future__ import annotations

from .validation import boolean

__all__ = ["progress_bar"]


class _Silent:
    """Stands in for a tqdm bar when progress is off (tqdm itself is not imported then)."""

    n = 0

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, s=None, refresh=True):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def set_description(self, desc=None, refresh=True):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def progress_bar(progress, total, desc: str, unit: str = "it", **kwargs):
    """A tqdm bar with `total` steps labelled `desc` if `progress` (a bool) is True, else a silent stand-in.

    Usable as a context manager or closed by hand; by default a bar disappears when done (leave=False)
    so that successive stages do not interleave; other tqdm keywords pass through.
    """
    if not boolean("progress", progress):
        return _Silent()
    from tqdm.auto import tqdm

    kwargs.setdefault("leave", False)
    return tqdm(total=total, desc=desc, unit=unit, **kwargs)
