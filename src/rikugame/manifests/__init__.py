"""Kubernetes manifests of rikugame: the CRDs generated from the pydantic models, RBAC, the operator's
Deployment, Service and webhook configuration (plain data; writing files is the command's job)."""
