"""Staff-side domain: the tutor review queue and spaced revision.

Like `flows/`, it never imports `telegram` and reaches storage only through the Protocols it
owns (DESIGN.md rule 1). Cohorts, pushes and reports still live in `bot/` until the PostgreSQL
issue moves them here.
"""
