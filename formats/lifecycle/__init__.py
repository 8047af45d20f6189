"""Lifecycle of what repositories hold: cleanup policies, evaluated over the shared model.

``rules`` decides which versions a policy removes (pure), ``cleanup`` previews and runs
cleanups through the formats' own delete services, ``lock`` keeps one cleanup per repository.
"""
