"""Seed's retriever inside a user's own LangChain chain (LCEL), over the real small index.

`SeedRetriever` is the hybrid retriever as a LangChain `BaseRetriever`: a chain written the
LangChain way (retriever | format | prompt | model | parser) gets Seed's passages with
their paper, pages and rank in each Document's metadata. The chat model at the end is
scripted (it repeats what it was shown), so the test sees exactly what reached it.
"""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from rag.retrieve import Retriever, SeedRetriever


class Echo(GenericFakeChatModel):
    """A chat model that answers with the prompt it was given."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        reply = AIMessage(str(messages[-1].content))
        return ChatResult(generations=[ChatGeneration(message=reply)])


def cite(docs: list[Document]) -> str:
    """The user's own formatting: "[doc_id p.N] text" per passage."""
    return "\n".join(f"[{d.metadata['doc_id']} p.{d.metadata['page_start']}] {d.page_content}"
                     for d in docs)


def test_a_users_chain_reads_seeds_passages(small_index):
    retriever = SeedRetriever(retriever=Retriever(small_index), k=4)
    prompt = ChatPromptTemplate.from_messages(
        [("human", "Context:\n{context}\n\nQuestion: {question}")])
    chain = ({"context": retriever | RunnableLambda(cite), "question": RunnablePassthrough()}
             | prompt | Echo(messages=iter([])) | StrOutputParser())

    question = "What does DistilBERT's triple loss combine?"
    shown = chain.invoke(question)
    docs = retriever.invoke(question)

    assert len(docs) == 4 and docs[0].metadata["doc_id"] == "1910.01108"
    assert [d.metadata["rank"] for d in docs] == [1, 2, 3, 4]
    assert {"chunk_id", "title", "page_end", "lang", "url", "seq", "score"} <= set(docs[0].metadata)
    assert shown.startswith("Context:\n[1910.01108 p.") and shown.endswith(f"Question: {question}")
    assert docs[0].page_content in shown
