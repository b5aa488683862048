"""Stage 3 of Seed: question in, cited answer out (retrieve -> read -> answer)."""
