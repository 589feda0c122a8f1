"""Progress bars on stderr, shown only when asked or when logging is verbose."""

from __future__ import annotations

import logging
from typing import Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], show: bool | None, **kwargs: object) -> Iterable[T]:
    """Wrap ``items`` in a tqdm bar when ``show`` is True (None: when defsum logs at INFO).

    >>> list(progress([1, 2], show=False))
    [1, 2]
    """
    if show is None:
        show = logging.getLogger("defsum").getEffectiveLevel() <= logging.INFO
    return tqdm(items, **kwargs) if show else items
