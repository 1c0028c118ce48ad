"""Names of rikugame's Kubernetes API objects (the CRDs' group, version, plurals; the field manager)."""

GROUP = "rikugame.dev"
VERSION = "v1alpha1"
TUNERS = "tuners"
CHECKPOINTS = "tunercheckpoints"
FIELD_MANAGER = "rikugame"
RESTARTED_AT = f"{GROUP}/restartedAt"
"""Pod template annotation of a rolling restart made by the operator (its time)."""
