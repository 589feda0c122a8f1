"""A padded batch of random token ids, shared by the classifier-speed tests."""

from __future__ import annotations

import torch


def padded_batch(vocab: int, rows: int = 3, length: int = 20, pad_step: int = 3) -> dict[str, torch.Tensor]:
    """``rows`` seeded random windows of ``length`` ids in [5, vocab); row r has ``pad_step * r``
    padding positions at its end, so rows are padded by different amounts.

    >>> padded_batch(50, rows=2, length=6, pad_step=2)["attention_mask"].tolist()
    [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]
    """
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, vocab, (rows, length), generator=g)
    mask = torch.ones_like(ids)
    for r in range(1, rows):
        mask[r, length - pad_step * r :] = 0
    return {"input_ids": ids, "attention_mask": mask}
