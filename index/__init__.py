"""Stage 2 of Seed: chunks in, a searchable hybrid (FAISS + BM25) index out."""
