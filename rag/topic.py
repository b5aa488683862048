"""Rag stage: is the question about research at all? A nearest-exemplar test, any embedder.

Retrieval cannot tell "how do I make kimchi stew?" from a paper question: the corpus holds
model samples and dialogue examples about recipes, sports and novels, so an everyday
question lands near some passage with a cosine as high as a real one (e5 0.80-0.85 for
both), and a small reader then answers from a model's sample output. This test compares
the question with two small sets of example questions written for it (not taken from any
gold set): questions about machine-learning research, and everyday questions. The
question is off topic when its nearest everyday example is closer than its nearest
research example. The comparison is relative, so it needs no floor per embedder.

    >>> nearest_side([0.41, 0.28], [0.33, 0.12])  # (best research, best everyday)
    (0.41, 0.33)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.embed import Embedder

log = logging.getLogger(__name__)

RESEARCH = (
    "What pretraining objective does the model use?",
    "How many parameters does the largest model have?",
    "Which dataset was the model trained on, and how many tokens does it contain?",
    "What accuracy does the method reach on the benchmark?",
    "How does the proposed architecture differ from the Transformer?",
    "Which paper introduced the attention mechanism for translation?",
    "What learning rate and batch size were used in training?",
    "How is the reward model trained from human preferences?",
    "Why is the new attention implementation faster on GPUs?",
    "Which technique reduces memory use during fine-tuning?",
    "모델의 층 수와 은닉 크기는 얼마인가?",
    "이 논문이 제안한 사전학습 방법은 무엇인가?",
    "학습에 사용한 데이터셋의 크기는?",
    "벤치마크에서 기존 모델보다 얼마나 좋은 성능을 냈나?",
    "어떤 모델이 검색을 이용해 언어 모델을 보강하나?",
    "지식 증류로 만든 작은 모델은 원래 모델 성능의 몇 퍼센트를 유지하나?",
    "该模型的参数量是多少？",
    "这篇论文提出了什么新的训练目标？",
    "哪个模型使用了相对位置编码？",
    "预训练语料有多少个词元？",
    "该方法在翻译任务上的BLEU分数是多少？",
    "指令微调用了多少个任务？",
)

EVERYDAY = (
    "How long should I boil pasta?",
    "What is the weather like in Paris in spring?",
    "Who painted the Mona Lisa?",
    "Which team won the basketball championship last year?",
    "What is the population of Brazil?",
    "How can I lower my blood pressure?",
    "Who received the Nobel Peace Prize?",
    "What is a good gift for my mother's birthday?",
    "How do I apply for a passport?",
    "Which movie won the best picture award?",
    "How deep is the Pacific Ocean?",
    "What time does the museum open on Sundays?",
    "불고기 양념은 어떻게 만드나요?",
    "일본의 수도는 어디인가요?",
    "감기에 걸리면 무엇을 먹어야 하나요?",
    "이번 주말 부산 날씨는 어때?",
    "조선 왕조를 세운 사람은 누구인가?",
    "노벨 문학상을 받은 한국 작가는?",
    "좋은 영화 한 편 추천해줘.",
    "한라산의 높이는 몇 미터야?",
    "서울에서 부산까지 기차로 얼마나 걸려?",
    "운동화 세탁은 어떻게 하나요?",
    "饺子怎么包？",
    "法国的首都是哪里？",
    "长城有多长？",
    "失眠了应该怎么办？",
    "谁获得了诺贝尔化学奖？",
    "明天上海会下雨吗？",
    "推荐几首好听的歌。",
    "黄河有多长？",
    "怎么去故宫？",
)


@dataclass(frozen=True)
class Topic:
    """How near the question sits to each set of examples (cosines, same embedder)."""

    research: float
    everyday: float

    @property
    def off(self) -> bool:
        return self.everyday > self.research


def nearest_side(research: Sequence[float], everyday: Sequence[float]) -> tuple[float, float]:
    """The best cosine on each side."""
    return max(research), max(everyday)


class TopicTest:
    """`TopicTest(embedder)(question) -> Topic`; the examples are embedded once."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        vecs = embedder.encode_query([*RESEARCH, *EVERYDAY])
        self._research = np.asarray(vecs[: len(RESEARCH)])
        self._everyday = np.asarray(vecs[len(RESEARCH):])

    def __call__(self, question: str) -> Topic:
        q = np.asarray(self.embedder.encode_query([question])[0])
        research, everyday = nearest_side(self._research @ q, self._everyday @ q)
        return Topic(float(research), float(everyday))
