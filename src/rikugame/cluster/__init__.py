"""Kubernetes access (read workloads/pods/HPAs, apply, resize, restart). Built with the operator issue."""
