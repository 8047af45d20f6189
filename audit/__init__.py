"""The audit log: who changed what, where and when, written with the change itself.

It sits at the floor with ``storage``: the blob store, access control and the formats all
record events here, so its models, context and services import no app of this project.
"""
