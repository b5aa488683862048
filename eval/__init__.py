"""Stage 4 of Seed: gold questions in, scores out."""
