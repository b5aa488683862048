"""Stage 1 of Seed: papers in, chunks out (fetch, parse, split)."""
