"""rikugame: keeps Kubernetes workloads right-sized (requests/limits and HPA) from their own history."""

__version__ = "0.1.0"
