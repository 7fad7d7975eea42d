"""The hand-written query benchmark (issue 16, section 2): plain-PyTorch models of
designs the zoo holds, each searched against an index; see ``docs/rewrites.md``."""
