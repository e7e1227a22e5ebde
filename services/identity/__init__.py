"""Who is asking and what they may see: token verification (`auth`, `jwks`), profiles, and
`access`, the one module holding the visibility rules (which numbers a user sees, who sees
deleted messages, the per-event check of live events)."""
