"""One exception root, so the CLI and the stages can turn any user mistake into a message.

Every error names the file, key or column at fault and what was expected; the CLI prints
``str(error)`` and exits with ``error.exit_code`` instead of a traceback.
"""


class MlgateError(Exception):
    """Base class for every error mlgate raises on purpose."""

    exit_code = 2


class ParamsError(MlgateError):
    """params.yaml (or a spec file) has a missing, unknown or ill-typed key."""


class DataError(MlgateError):
    """A data file is missing, empty, unreadable or lacks a required column."""


class ContractError(MlgateError):
    """Data does not satisfy its contract, or the contract itself is invalid."""


class ContractViolation(ContractError):
    """The data broke its contract: a verdict on the data (exit 1), not a broken input (2)."""

    exit_code = 1


class ArtifactError(MlgateError):
    """A model or metrics artifact is missing, tampered with or from another environment."""


class GateError(MlgateError):
    """The gate cannot run at all (as opposed to rejecting, which is a normal outcome)."""


class RegistryRefusal(MlgateError):
    """A promotion or rollback that the evidence does not allow (exit code 1, like a reject)."""

    exit_code = 1


class EvidenceRefusal(RegistryRefusal):
    """A promotion refused because the evidence does not back the decision (missing, stale,
    inconsistent, contradicted by its recomputation): exit code 2, like ``mlgate check``."""

    exit_code = 2


class RegistryError(MlgateError):
    """git, GTO or the registry cannot be read or written at all (not a git repository, GTO
    failure)."""


class ServerError(MlgateError):
    """The API server could not be started (or did not become healthy in time)."""


class NoEvidence(MlgateError):
    """Nothing was compared: the command cannot say anything about the candidate (exit 2)."""
