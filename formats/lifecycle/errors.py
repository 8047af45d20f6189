"""Errors of cleanup policies and runs."""

from registry_project.errors import BadRequest, Conflict


class PolicyInvalid(BadRequest):
    """the cleanup policy is invalid"""

    code = "POLICY_INVALID"


class CleanupBusy(Conflict):
    """a cleanup of this repository is already running"""

    code = "CLEANUP_BUSY"
