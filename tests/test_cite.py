"""The citation check's support rule, on real sentences with a given similarity.

The embedding similarity is an input of `check_answer` (the answer tests use the real
embedders); here it is fixed at what e5 gave a Chinese answer sentence against an English
Kaplan passage on the full index (0.82), so each test pins the lexical half of the rule.
"""

from __future__ import annotations

import numpy as np

from rag.cite import check_answer
from rag.context import Passage

KAPLAN = Passage(
    1, "2001.08361", "Scaling Laws for Neural Language Models", "", 4, 4,
    "The loss scales as a power-law with model size, dataset size, and the amount of "
    "compute used for training.", (10,), 1.0)
OTHER = Passage(
    2, "1909.11942", "ALBERT: A Lite BERT for Self-supervised Learning of Language "
    "Representations", "", 3, 3, "ALBERT uses cross-layer parameter sharing.", (20,), 1.0)


def fixed(value: float):
    return lambda sentences, passages: np.full((len(sentences), len(passages)), value)


def test_a_sentence_naming_the_label_the_model_saw_is_supported():
    """The model saw "[1] (Kaplan) ..."; "Kaplan等人的..." names that label, not the title."""
    out = check_answer("Kaplan等人的论文中，损失随模型大小以幂律形式下降。", "zh",
                       [KAPLAN, OTHER], fixed(0.82))
    assert out[0].cited == (1,) and out[0].supported


def test_a_name_no_header_carries_is_not_support():
    out = check_answer("Chinchilla等人的论文中，损失随模型大小以幂律形式下降。", "zh",
                       [KAPLAN, OTHER], fixed(0.82))
    assert out[0].cited == () and not out[0].supported
