"""Evidence focusing with the real USE encoder: which sentences reach the reader."""

from __future__ import annotations

import pytest

from common.tokens import approx_tokens
from index.embed import load_embedder
from rag.context import Passage
from rag.focus import GAP, _is_figure_text, focus
from rag.prompts import EXAMPLES, format_sources, prompt_inputs, reader_prompt, source_label

ALBERT = (
    "Under review as a conference paper at ICLR 2020 ALBERT: A LITE BERT FOR SELF-SUPERVISED "
    "LEARNING OF LANGUAGE REPRESENTATIONS. "
    "Increasing model size often results in improved performance on downstream tasks. "
    "To address these problems, we present two parameter-reduction techniques: factorized "
    "embedding parameterization and cross-layer parameter sharing. "
    "We thank the anonymous reviewers for their helpful comments on this paper. "
    "The experiments were run on Cloud TPU V3 pods with 64 to 512 chips."
)
ELECTRA = (
    "Masked language modeling corrupts the input by replacing some tokens with [MASK]. "
    "As an alternative, we propose a more sample-efficient pre-training task called "
    "replaced token detection. "
    "Table 8 lists the hyperparameters used for fine-tuning on GLUE."
)
WEATHER = "The weather in the city was mild for most of the year, with little rain in summer."


def passage(n: int, doc: str, text: str) -> Passage:
    return Passage(n, doc, doc, "", 1, 1, text, (n,), 1.0)


@pytest.fixture(scope="module")
def use():
    return load_embedder("use")


def test_keeps_the_answering_sentence_and_drops_the_rest(use):
    kept = focus("How does ALBERT reduce its parameters?",
                 [passage(1, "albert", ALBERT)], use, budget_tokens=40)
    assert len(kept) == 1
    text = kept[0].text
    assert "cross-layer parameter sharing" in text
    assert "anonymous reviewers" not in text and "LITE BERT" not in text  # heading dropped
    assert approx_tokens(text) <= 40 + 4  # the budget, plus gap marks


RWKV = (
    "The paper presents a novel architecture, Receptance Weighted Key Value (RWKV), that "
    "combines the efficient parallelizable training of Transformers with the efficient "
    "inference of RNNs. "
    "We scale our models as large as 14 billion parameters, by far the largest dense RNN "
    "ever trained. "
    "We propose a novel model architecture, Receptance Weighted Key Value (RWKV), that "
    "combines the efficient parallelizable training of Transformers with the efficient "
    "inference of RNNs."
)


def test_a_restated_sentence_does_not_spend_the_budget(use):
    """Abstract and introduction often say the same thing twice; the second copy would push
    out the sentence with the number the question asks for."""
    kept = focus("How does RWKV combine Transformers and RNNs, and how large is it?",
                 [passage(1, "rwkv", RWKV)], use, budget_tokens=100)
    text = kept[0].text
    assert text.count("Receptance Weighted Key Value") == 1
    assert "14 billion" in text


def test_each_side_of_a_comparison_keeps_evidence_and_numbers_are_renumbered(use):
    passages = [passage(1, "weather", WEATHER), passage(2, "albert", ALBERT),
                passage(3, "electra", ELECTRA)]
    kept = focus("ALBERT와 ELECTRA 차이?", passages, use, budget_tokens=90, spread=3,
                 also=["What is ALBERT and how does it work?",
                       "What is ELECTRA and how does it work?"])
    by_doc = {p.doc_id: p for p in kept}
    assert "replaced token detection" in by_doc["electra"].text
    assert "parameter-reduction" in by_doc["albert"].text
    assert [p.n for p in kept] == list(range(1, len(kept) + 1))
    assert all(GAP.strip() in p.text for p in kept if p.doc_id == "albert")


def test_the_prompt_prefix_is_the_same_for_every_language():
    """Only the last human turn differs, so llama.cpp reuses the cached prefix."""
    p = [passage(1, "albert", ALBERT)]
    prompts = [reader_prompt().invoke(prompt_inputs("q?", lang, p)).to_messages()
               for lang in ("ko", "zh", "en")]
    prefixes = [[(m.type, m.content) for m in msgs[:-1]] for msgs in prompts]
    assert prefixes[0] == prefixes[1] == prefixes[2]
    assert len(prefixes[0]) == 1 + 2 * len(EXAMPLES)
    assert "Korean" in prompts[0][-1].content and "Chinese" in prompts[1][-1].content
    hinted = prompt_inputs("A와 B 차이?", "ko", p, sides=["A", "B"])["question"]
    assert "about A and about B" in hinted


def test_sources_are_headed_by_short_paper_labels():
    """A full title costs ~15 prompt tokens per source; the name it opens with is enough."""
    albert = Passage(1, "1909.11942", "ALBERT: A Lite BERT for Self-supervised Learning of "
                     "Language Representations", "", 3, 4, ALBERT, (1,), 1.0)
    assert format_sources([albert]).startswith("[1] (ALBERT) Under review")
    assert source_label("Attention Is All You Need") == "Attention Is All You Need"
    long = "Neural Machine Translation by Jointly Learning to Align and Translate"
    assert source_label(long) == "Neural Machine Translation by Jointly…"
    assert source_label("x" * 60) == "x" * 40 + "…"
    # the reading list's short name when the title has none; notes by hashed stem: "notes"
    t5 = "Exploring the Limits of Transfer Learning with a Unified Text-to-Text Transformer"
    assert source_label(t5, "1910.10683") == "T5"
    assert source_label("Mamba: Linear-Time Sequence Modeling", "2312.00752") == "Mamba"
    assert source_label("001_2823b95318a23eab", "001_2823b95318a23eab") == "notes"
    assert source_label("my_notes", "my_notes") == "my_notes"


# Sentences as pypdf extracts them from the corpus PDFs (InstructGPT's Figure 4 legend, the
# scaling-laws table of contents, GPT-2's Table 2 inside its sentence, OPT's Table 1).
FIGURE_LEGEND = ("GPT GPT (prompted) SFT PPO PPO-ptx 0 0.25 0.50 0.75Prevalence Attempts correct "
                 "instruction GPT GPT (prompted) SFT PPO PPO-ptx 0 0.1 0.2 0.3 0.4 0.5 Follows "
                 "explicit constraints GPT GPT (prompted) SFT PPO PPO-ptx 0 0.2 0.4 "
                 "Hallucinations GPT GPT (prompted) SFT PPO PPO-ptx 0 0.25 0.50 0.75 Uses lang")
CONTENTS = "10 9 Universality of overfitting " + ". " * 30
TABLE_IN_PROSE = ("The model largely follows the details of the OpenAI GPT model (Radford et al., "
                  "2018) with a Parameters Layers dmodel 117M 12 768 345M 24 1024 762M 36 1280 "
                  "1542M 48 1600 Table 2.")
TABLE = ("Model #L #H dmodel LR Batch 125M 12 12 768 6.0e−4 0.5M 350M 24 16 1024 3.0e−4 0.5M "
         "1.3B 24 32 2048 2.0e−4 1M 2.7B 32 32 2560 1.6e−4 1M 6.7B 32 32 4096 1.2e−4 2M 13B 40 "
         "40 5120 1.0e−4 4M 30B 48 56 7168 1.0e−4 4M 175B 96 96 12288 1.2e−4 2M")


def test_figure_legends_and_contents_are_not_evidence_but_tables_are():
    assert _is_figure_text(FIGURE_LEGEND) and _is_figure_text(CONTENTS)
    assert not _is_figure_text(TABLE_IN_PROSE) and not _is_figure_text(TABLE)


def test_a_contents_line_naming_the_asked_topic_is_not_kept_though_the_budget_has_room(use):
    """The question's words earn a table-of-contents line a place; it must not be evidence."""
    text = (CONTENTS + "\n\nThe extent of overfitting depends predominantly on the ratio "
            "N^0.74/D, so every time we increase the model size 8x, we only need to increase "
            "the data by roughly 5x to avoid a penalty.")
    kept = focus("What is the universality of overfitting?", [passage(1, "2001.08361", text)],
                 use, 400)
    assert ". . ." not in kept[0].text and "depends predominantly" in kept[0].text
