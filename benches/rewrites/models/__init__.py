"""Hand-written models, one module per kind of design; every model builds without
arguments (a class with defaults or a factory), so ``archmotif search
benches/rewrites/models/text.py:gpt2_sdpa --index ...`` works on each."""
