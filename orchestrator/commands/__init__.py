"""CLI verbs. Each module here defines ``register(subparsers)``; the parser it adds sets
``func`` to a function ``(args) -> int`` that composes stages. No business logic lives here."""
